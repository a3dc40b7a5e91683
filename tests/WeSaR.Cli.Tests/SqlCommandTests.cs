using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using DuckDB.NET.Data;
using WeSaR.Actors.Sweeps;
using WeSaR.TestSupport;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Tests;

/// <summary>`wesar sql` after a real sweep with a spike and a rollback per run, each answer checked against the journal, `runs list` and the run folders.</summary>
public sealed class SqlCommandTests : IClassFixture<HistoryCommandTests.Sweep>
{
    readonly HistoryCommandTests.Sweep s;

    public SqlCommandTests(HistoryCommandTests.Sweep s) => this.s = s;

    Wesar.Result Sql(params string[] args) => Wesar.Run(["--workdir", s.Work, "sql", .. args]);

    string Ok(params string[] args)
    {
        var r = Sql(args);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        return r.Stdout;
    }

    List<JsonElement> Json(string query) => JsonDocument.Parse(Ok(query, "--json")).RootElement.EnumerateArray().ToList();

    string Metrics(string run) => Path.Combine(s.Work, "sweeps", s.Id, run, MetricsLog.FileName);

    // DuckDB keeps microseconds; .NET's times have ticks of 100 ns.
    static DateTime Micros(string iso)
    {
        var t = DateTime.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        return new DateTime(t.Ticks - t.Ticks % 10, DateTimeKind.Utc);
    }

    [Fact]
    public void The_runs_table_says_what_runs_list_says()
    {
        var list = Wesar.Run("--workdir", s.Work, "runs", "list", "--json").Json().EnumerateArray().OrderBy(r => r.GetProperty("run").GetString()).ToList();
        var sql = Json("select * from runs order by run");
        Assert.Equal(4, list.Count);
        Assert.Equal(list.Count, sql.Count);
        foreach (var (want, got) in list.Zip(sql))
            foreach (var p in want.EnumerateObject())
            {
                var value = got.GetProperty(p.Name);
                if (p.Name.EndsWith("_utc", StringComparison.Ordinal)) Assert.Equal(Micros(p.Value.GetString()!), Micros(value.GetString()!));
                else if (p.Value.ValueKind == JsonValueKind.Number) Assert.Equal(p.Value.GetDouble(), value.GetDouble());
                else Assert.Equal(p.Value.ToString(), value.ToString());
            }

        // The example of the help: means and sums by grid point, as computed from `runs list`.
        var groups = Json("select scheme, lr, avg(val_loss) as loss, sum(spikes) as spikes from runs group by all order by scheme");
        var expected = list.GroupBy(r => r.GetProperty("scheme").GetString()).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Select(g => g.Key), groups.Select(g => g.GetProperty("scheme").GetString()));
        foreach (var (g, row) in expected.Zip(groups))
        {
            Assert.Equal(g.Average(r => r.GetProperty("val_loss").GetDouble()), row.GetProperty("loss").GetDouble(), 12);
            Assert.Equal(g.Sum(r => r.GetProperty("spikes").GetInt32()), row.GetProperty("spikes").GetInt32());
            Assert.True(row.GetProperty("spikes").GetInt32() > 0);
        }
        // Any config key, by its name.
        Assert.All(Json("select config->>'train.steps' as steps from runs"), r => Assert.Equal("30", r.GetProperty("steps").GetString()));
    }

    [Fact]
    public void The_events_table_holds_every_journal_event_in_order()
    {
        var rows = Json("select event, manifest, run, step, payload from events order by seq");
        Assert.Equal(s.Events.Select(e => e.GetType().Name), rows.Select(r => r.GetProperty("event").GetString()));
        Assert.All(rows, r => Assert.Equal(r.GetProperty("event").GetString() + ".v1", r.GetProperty("manifest").GetString()));
        foreach (var (e, row) in s.Events.Zip(rows))
        {
            Assert.Equal((e as IRunEvent)?.Run.Value, row.GetProperty("run").ValueKind == JsonValueKind.Null ? null : row.GetProperty("run").GetString());
            if (e is SpikeDetected d)
            {
                Assert.Equal(d.Step, row.GetProperty("step").GetInt64());
                using var payload = JsonDocument.Parse(row.GetProperty("payload").GetString()!);
                Assert.Equal(d.Value, payload.RootElement.GetProperty("value").GetDouble());
            }
        }
    }

    [Fact]
    public void The_metrics_view_has_the_lines_of_every_runs_metrics_file()
    {
        var runs = s.Events.OfType<RunCompleted>().Select(c => c.Run.Value).ToList();
        var counts = Json("select run, count(*) as n from metrics group by run");
        Assert.Equal(runs.Order(), counts.Select(c => c.GetProperty("run").GetString()).Order());
        Assert.All(counts, c => Assert.Equal(MetricsLog.Read(Metrics(c.GetProperty("run").GetString()!)).Count, c.GetProperty("n").GetInt32()));

        var lines = MetricsLog.Read(Metrics(runs[0]));
        var rows = Json($"select * from metrics where run = '{runs[0]}' order by step");
        Assert.Equal(lines.Count, rows.Count);
        foreach (var (line, row) in lines.Zip(rows))
        {
            Assert.Equal(s.Id, row.GetProperty("sweep").GetString());
            Assert.Equal((line.Step, line.Loss, line.GradNorm, line.Lr, line.Tokens), (row.GetProperty("step").GetInt64(), row.GetProperty("loss").GetDouble(),
                row.GetProperty("grad_norm").GetDouble(), row.GetProperty("lr").GetDouble(), row.GetProperty("tokens").GetInt64()));
            Assert.Equal(line.ValLoss, row.GetProperty("val_loss").ValueKind == JsonValueKind.Null ? null : row.GetProperty("val_loss").GetDouble());
        }
        Assert.Contains(lines, l => l.ValLoss is not null);
        Assert.Contains(lines, l => l.UpdateRatio is not null);
    }

    [Fact]
    public void The_loss_in_the_50_steps_before_each_spike_joins_metrics_with_the_spike_events()
    {
        var csv = Ok("""
            select e.run, e.step as spike_step, m.step, m.loss
            from events e join metrics m on m.sweep = e.sweep and m.run = e.run and m.step between e.step - 50 and e.step - 1
            where e.event = 'SpikeDetected' order by e.run, spike_step, m.step
            """, "--csv").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("run,spike_step,step,loss", csv[0]);
        var got = csv.Skip(1).Select(l => l.Split(',')).Select(f => (f[0], long.Parse(f[1]), long.Parse(f[2]), double.Parse(f[3], CultureInfo.InvariantCulture))).ToList();
        var spikes = s.Events.OfType<SpikeDetected>().ToList();
        Assert.NotEmpty(spikes);
        var expected = spikes.SelectMany(d => MetricsLog.Read(Metrics(d.Run.Value)).Where(l => l.Step >= d.Step - 50 && l.Step < d.Step)
                .Select(l => (d.Run.Value, d.Step, l.Step, l.Loss)))
            .OrderBy(x => x.Item1, StringComparer.Ordinal).ThenBy(x => x.Item2).ThenBy(x => x.Item3).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, got);
    }

    [Fact]
    public void Csv_json_and_table_shapes()
    {
        const string query = "select 1 as a, 'x,\"y\"' as b, null as c, [1, 2] as d, sum(spikes) as e, 0.5::double as f from runs";
        var spikes = s.Events.OfType<SpikeDetected>().Count();
        Assert.Equal($"a,b,c,d,e,f\n1,\"x,\"\"y\"\"\",,\"[1,2]\",{spikes},0.5\n", Ok(query, "--csv"));

        var row = Assert.Single(Json(query));
        Assert.Equal(new[] { "a", "b", "c", "d", "e", "f" }, row.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, row.GetProperty("a").GetInt32());
        Assert.Equal("x,\"y\"", row.GetProperty("b").GetString());
        Assert.Equal(JsonValueKind.Null, row.GetProperty("c").ValueKind);
        Assert.Equal(new[] { 1, 2 }, row.GetProperty("d").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal(spikes, row.GetProperty("e").GetInt32());   // a HUGEINT, as a number
        Assert.Equal(0.5, row.GetProperty("f").GetDouble());

        Assert.Equal("[]", Ok("select * from runs where false", "--json").Trim());
        // Of several statements, the last one's result.
        Assert.Equal($"n\n{s.Events.OfType<RunCompleted>().Count()}\n", Ok("select 1 as one; create table done as select run from runs where state = 'completed'; select count(*) as n from done;", "--csv"));
        var table = Ok("select run, spikes from runs order by run");
        Assert.Matches(@"run\s+spikes", table);
        Assert.EndsWith("4 rows\n", table);
        foreach (var run in s.Events.OfType<RunCompleted>()) Assert.Contains(run.Run.Value, table);
    }

    [Theory]
    [InlineData("select * from nosuch", "Catalog Error: Table with name nosuch does not exist!")]
    [InlineData("selec 1", "Parser Error: syntax error at or near \"selec\"")]
    [InlineData("select nosuch from runs", "Binder Error: Referenced column \"nosuch\" not found")]
    public void A_bad_query_is_bad_input_with_duckdbs_reason_on_one_line(string query, string reason)
    {
        foreach (var format in new[] { "--json", "--csv" })
        {
            var r = Sql(query, format);
            Assert.Equal(2, r.ExitCode);
            Assert.Equal("", r.Stdout);
            Assert.StartsWith("error: sql: " + reason, r.Stderr);
            Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        }
        var parquet = Path.Combine(s.Dir.Path, "bad.parquet");
        Assert.Equal(2, Sql(query, "--parquet", parquet).ExitCode);
        Assert.False(File.Exists(parquet));
    }

    [Fact]
    public void Usage_errors_are_bad_input()
    {
        Assert.StartsWith("error: sql: give a query", Sql().Stderr);
        Assert.Equal(2, Sql().ExitCode);
        var both = Sql("select 1", "--json", "--csv");
        Assert.Equal((2, "error: sql: choose one of --json, --csv and --parquet\n"), (both.ExitCode, both.Stderr));
    }

    [Fact]
    public void Parquet_files_read_back_with_the_same_rows()
    {
        var dir = Path.Combine(s.Dir.Path, "parquet");
        var r = Sql("--parquet", dir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(new[] { "events.parquet", "metrics.parquet", "runs.parquet" }, Directory.GetFiles(dir).Select(Path.GetFileName).Order());

        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        List<object?[]> Rows(string sql)
        {
            using var c = db.CreateCommand();
            c.CommandText = sql;
            using var reader = c.ExecuteReader();
            var rows = new List<object?[]>();
            while (reader.Read()) rows.Add(Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? null : reader.GetValue(i)).ToArray());
            return rows;
        }
        string File(string name) => $"'{Path.Combine(dir, name)}'";

        var finals = s.Events.OfType<RunCompleted>().ToDictionary(c => c.Run.Value, c => c.Metrics);
        var runs = Rows($"select run, val_loss, last_loss, spikes, rollbacks from {File("runs.parquet")}");
        Assert.Equal(finals.Count, runs.Count);
        foreach (var row in runs)
        {
            var m = finals[(string)row[0]!];
            Assert.Equal((m.ValLoss, m.LastLoss, m.Spikes, m.Rollbacks), ((double?)row[1], (double?)row[2], (int)row[3]!, (int)row[4]!));
        }
        Assert.Equal(s.Events.Select(e => e.GetType().Name), Rows($"select event from {File("events.parquet")} order by seq").Select(x => (string)x[0]!));
        foreach (var run in finals.Keys)
        {
            var lines = MetricsLog.Read(Metrics(run));
            Assert.Equal(lines.Select(l => (l.Step, l.Loss)),
                Rows($"select step, loss from {File("metrics.parquet")} where run = '{run}' order by step").Select(x => ((long)x[0]!, (double)x[1]!)));
        }

        // A query's result to one file.
        var one = Path.Combine(s.Dir.Path, "losses.parquet");
        var q = Sql("select run, val_loss from runs where scheme = 'he';", "--parquet", one);
        Assert.True(q.ExitCode == 0, q.Stderr);
        Assert.Equal($"wrote 2 row(s) to {one}\n", q.Stderr);
        Assert.Equal(finals.Where(kv => s.Events.OfType<SweepStarted>().Single().Runs.Single(x => x.Id.Value == kv.Key).Label.Contains("scheme=he "))
                .Select(kv => (kv.Key, kv.Value.ValLoss)).Order(),
            Rows($"select run, val_loss from '{one}'").Select(x => ((string)x[0]!, (double?)x[1])).Order());
    }
}

/// <summary>`wesar sql` over a PostgreSQL journal: the same runs as `runs list` there, and the metrics of its run folders.</summary>
public sealed class SqlPostgresTests
{
    [PostgresFact]
    public void Sql_reads_a_postgresql_journal()
    {
        using var db = new PostgresDatabase();
        using var dir = TestEnv.NewTempDir();
        var env = new Dictionary<string, string> { ["WESAR_POSTGRES"] = db.ConnectionString };
        string[] pg = ["--set", "orchestrator.journal.provider=postgresql"];
        var work = Path.Combine(dir.Path, "work");
        var patience = TimeSpan.FromMinutes(5);
        var run = Wesar.Run(patience, env, ["--workdir", work, "sweep", "run", TestSweeps.Write(dir.Path, "pgsql", "run.seed = [1, 2]", 6), .. pg]);
        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        Assert.False(File.Exists(Path.Combine(work, "journal.db")));

        var list = Wesar.Run(patience, env, ["--workdir", work, "runs", "list", "--json", .. pg]).Json().EnumerateArray()
            .Select(r => (r.GetProperty("run").GetString()!, r.GetProperty("state").GetString(), r.GetProperty("val_loss").GetDouble(), r.GetProperty("steps").GetInt64()))
            .Order().ToList();
        var sql = Wesar.Run(patience, env, ["--workdir", work, "sql", "select run, state, val_loss, steps from runs", "--json", .. pg]).Json().EnumerateArray()
            .Select(r => (r.GetProperty("run").GetString()!, r.GetProperty("state").GetString(), r.GetProperty("val_loss").GetDouble(), r.GetProperty("steps").GetInt64()))
            .Order().ToList();
        Assert.Equal(2, list.Count);
        Assert.Equal(list, sql);

        var id = Regex.Match(run.Stdout, @"^sweep (\S+):", RegexOptions.Multiline).Groups[1].Value;
        var counts = Wesar.Run(patience, env, ["--workdir", work, "sql", "select run, count(*) as n from metrics group by run", "--csv", .. pg]);
        Assert.True(counts.ExitCode == 0, counts.Stderr);
        Assert.Equal(list.Select(r => $"{r.Item1},{MetricsLog.Read(Path.Combine(work, "sweeps", id, r.Item1, MetricsLog.FileName)).Count}").Order(),
            counts.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Order());
    }
}
