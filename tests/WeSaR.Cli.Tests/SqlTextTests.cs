using System.Text.Json;
using Akka.Configuration;
using DuckDB.NET.Data;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;
using WeSaR.Cli.Sql;
using WeSaR.TestSupport;
using WeSaR.Training.Config;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Tests;

/// <summary>The pure pieces of `wesar sql`, with a real DuckDB where SQL is made.</summary>
public sealed class SqlTextTests : IDisposable
{
    readonly DuckDBConnection db = new("DataSource=:memory:");
    readonly TempDir dir = TestEnv.NewTempDir();

    public SqlTextTests() => db.Open();

    public void Dispose()
    {
        db.Dispose();
        dir.Dispose();
    }

    List<object?[]> Rows(string sql)
    {
        using var c = db.CreateCommand();
        c.CommandText = sql;
        using var reader = c.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read()) rows.Add(Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? null : reader.GetValue(i)).ToArray());
        return rows;
    }

    [Fact]
    public void DuckDBs_message_loses_the_echo_of_the_query_but_keeps_its_hint()
    {
        Rows("create table runs (a int)");
        var e = Assert.Throws<DuckDBException>(() => Rows("select * from rnus"));
        Assert.Contains("\nLINE 1:", e.Message);
        var line = SqlText.OneLine(e.Message);
        Assert.DoesNotContain("\n", line);
        Assert.StartsWith("Catalog Error: Table with name rnus does not exist!", line);
        Assert.EndsWith("Did you mean \"runs\"?", line);
        Assert.DoesNotContain("LINE", line);
    }

    [Fact]
    public void A_query_with_a_trailing_semicolon_is_a_copy_source()
    {
        Assert.Equal("(select 1)", SqlText.CopySource("select 1 ;; \n"));
        var file = Path.Combine(dir.Path, "it's.parquet");
        using (var c = db.CreateCommand())
        {
            c.CommandText = SqlText.Copy(SqlText.CopySource("select 42 as x;"), file);
            Assert.Equal(1, c.ExecuteNonQuery());
        }
        Assert.Equal(42, Assert.Single(Rows($"select x from {SqlText.Literal(file)}"))[0]);
    }

    [Fact]
    public void The_metrics_columns_are_every_key_the_metrics_log_writes()
    {
        var path = Path.Combine(dir.Path, MetricsLog.FileName);
        using (var log = new MetricsLog(path, 0))
            log.Write(new MetricsLine(1, 2, 3, 4, 5, 6, 7, new Dictionary<string, double> { ["w_d"] = 1 }, new Dictionary<string, double> { ["g"] = 2 }, 8, 9, "loss", 10));
        using var written = JsonDocument.Parse(File.ReadAllLines(path).Single());
        Assert.Equal(written.RootElement.EnumerateObject().Select(p => p.Name).Order(), SqlText.MetricsColumns.Select(c => c.Name).Order());
    }

    [Fact]
    public void The_metrics_view_reads_each_file_as_its_run_and_skips_a_half_written_line()
    {
        // A folder name with a quote in it, and a run still writing its last line.
        var a = Path.Combine(dir.Path, "it's", "a", MetricsLog.FileName);
        var b = Path.Combine(dir.Path, "b", MetricsLog.FileName);
        Directory.CreateDirectory(Path.GetDirectoryName(a)!);
        Directory.CreateDirectory(Path.GetDirectoryName(b)!);
        using (var log = new MetricsLog(a, 0))
        {
            log.Write(new MetricsLine(1, 5.5, 1, 1e-3, 128, 100, 200, UpdateRatio: new Dictionary<string, double> { ["w_d"] = 0.25 }));
            log.Write(new MetricsLine(2, double.NaN, double.PositiveInfinity, 1e-3, 256, 100, 200, ValLoss: 5.25, Spike: "non-finite"));
        }
        using (var log = new MetricsLog(b, 0)) log.Write(new MetricsLine(1, 4.5, 1, 2e-3, 128, 100, 200));
        File.AppendAllText(b, "{\"step\":2,\"loss\":4.");

        using (var c = db.CreateCommand())
        {
            c.CommandText = SqlText.MetricsView([("s", "a", a), ("s", "b", b)]);
            c.ExecuteNonQuery();
        }
        var rows = Rows("select run, step, loss, grad_norm, val_loss, spike, update_ratio->>'w_d' from metrics order by run, step");
        Assert.Equal(3, rows.Count);
        Assert.Equal(new object?[] { "a", 1L, 5.5, 1.0, null, null, "0.25" }, rows[0]);
        Assert.Equal(new object?[] { "a", 2L, double.NaN, double.PositiveInfinity, 5.25, "non-finite", null }, rows[1]);
        Assert.Equal(new object?[] { "b", 1L, 4.5, 1.0, null, null, null }, rows[2]);

        // With no files, a table of the same columns.
        using (var c = db.CreateCommand())
        {
            c.CommandText = SqlText.MetricsView([]).Replace("TABLE metrics", "TABLE empty_metrics");
            c.ExecuteNonQuery();
        }
        Assert.Equal(Rows("describe metrics").Select(r => (r[0], r[1])), Rows("describe empty_metrics").Select(r => (r[0], r[1])));
        Assert.Empty(Rows("select * from empty_metrics"));
    }

    static RunRecord Run(string sweep, string run, string hocon) =>
        new(sweep, run, run, "he", 3e-3, 1, RunPhase.Completed, 10, 10, 0, 0, 0, null, null, null, null, null, null, null, null, null, null, null, null)
        {
            Config = ConfigLoader.Canonical(ConfigurationFactory.ParseString(hocon).WithFallback(ConfigLoader.Defaults)),
        };

    [Fact]
    public void Grid_columns_are_the_keys_that_differ_within_a_sweep()
    {
        RunRecord[] runs =
        [
            Run("s1", "a", "model.qk-norm = on, optim.z-loss = 1e-4, run.seed = 1"),
            Run("s1", "b", "model.qk-norm = off, optim.z-loss = 0, run.seed = 2"),
            Run("s2", "c", "train.batch-size = 8"),
            Run("s2", "d", "train.batch-size = 8"),
        ];
        var columns = SqlText.GridColumns(runs);
        // run.seed differs too, but is the seed column already; train.batch-size is the same within its sweep.
        Assert.Equal(new[] { ("model_qk_norm", "VARCHAR"), ("optim_z_loss", "DOUBLE") }, columns.Select(c => (c.Name, c.Type)));
        Assert.Equal(new object?[] { "on", "off", "off", "off" }, runs.Select(columns[0].Value));
        Assert.Equal(new object?[] { 1e-4, 0.0, 0.0, 0.0 }, runs.Select(columns[1].Value));
    }

    [Fact]
    public void The_config_json_reads_any_key_in_duckdb()
    {
        var config = SqlText.ConfigJson(Run("s", "a", "model.qk-norm = on, faults.poison-batches = [20, 30]").Config);
        var row = Assert.Single(Rows($"select j->>'model.qk-norm', j->'faults.poison-batches'->>1 from (select {SqlText.Literal(config)}::json as j)"));
        Assert.Equal(new object?[] { "on", "30" }, row);
    }

    [Fact]
    public void An_events_step_is_the_step_it_is_about()
    {
        var (s, r) = (new SweepId("s"), new RunId("r"));
        Assert.Equal(21, SqlText.EventStep(new RolledBack(s, r, 21, 20, null, 1, 1)));
        Assert.Equal(7, SqlText.EventStep(new SpikeDetected(s, r, 7, "z-score", "loss", 1, 0, 1, 3)));
        Assert.Equal(30, SqlText.EventStep(new RunCompleted(s, r, new FinalMetrics(30, null, null, null, 0, null, 0, 0))));
        Assert.Null(SqlText.EventStep(new RunScheduled(s, r)));
    }
}
