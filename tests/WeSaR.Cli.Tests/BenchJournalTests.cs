using System.Globalization;
using System.Text.RegularExpressions;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>`wesar bench journal` on a real SQLite file and a real PostgreSQL database: every figure printed, the
/// coordinator's recovery checked against the sweep it wrote, and nothing of the benchmark left in a shared journal.</summary>
public sealed class BenchJournalTests : IDisposable
{
    readonly TempDir work = TestEnv.NewTempDir();

    public void Dispose() => work.Dispose();

    static readonly string[] Rows =
    [
        "persist one event per command, awaited", "persist batches of 1000", "coordinator recovery, all events replayed",
        "coordinator recovery from a snapshot of its state", "baseline: raw SQL read", "events of the sweep", "state of the sweep",
        "sweep compare by init.scheme", "read journal stream of the same events", "spike events of all sweeps",
    ];

    static void AssertFigures(Wesar.Result r)
    {
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        foreach (var what in Rows)
        {
            var row = Regex.Match(r.Stdout, $@"^\w+ +{Regex.Escape(what)}.*? ([\d,]+) +([\d,.]+) +([\d,]+) +(-|[\d.]+x)\s*$", RegexOptions.Multiline);
            Assert.True(row.Success, $"no row '{what}':\n{r.Stdout}");
            var events = int.Parse(row.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
            // A sweep this short has no spikes (one every 50 checkpoints of a run); every other figure reads events.
            Assert.True((events > 0 || what.StartsWith("spike", StringComparison.Ordinal)) && double.Parse(row.Groups[2].Value, CultureInfo.InvariantCulture) > 0, row.Value);
        }
        // Both recovery sizes (10k is capped at --events) are one here; queries read the whole sweep of about 2000 events.
        Assert.Matches(@"events of the sweep \(runs events, the dashboard\) +(1,9\d\d|2,\d\d\d) ", r.Stdout);
    }

    [Fact]
    public void Prints_write_rates_recovery_with_and_without_a_snapshot_and_query_ratios_on_sqlite()
    {
        AssertFigures(Wesar.Run(TimeSpan.FromMinutes(5), ["--workdir", work.Path, "bench", "journal", "--events", "2000", "--singles", "200", "--repeats", "1"]));
        Assert.Empty(Directory.GetFileSystemEntries(work.Path));   // the journal was a scratch file
    }

    [PostgresFact]
    public void Runs_on_postgresql_and_leaves_none_of_its_sweeps_in_the_journal()
    {
        using var db = new PostgresDatabase();
        var r = Wesar.Run(TimeSpan.FromMinutes(5), new Dictionary<string, string> { ["WESAR_POSTGRES"] = db.ConnectionString },
            ["--workdir", work.Path, "bench", "journal", "--events", "2000", "--singles", "200", "--repeats", "1", "--set", "orchestrator.journal.provider=postgresql"]);
        AssertFigures(r);
        Assert.Contains("PostgreSql journal", r.Stdout);
        using var c = new Npgsql.NpgsqlConnection(db.ConnectionString);
        c.Open();
        foreach (var table in new[] { "journal", "tags", "snapshot" })
        {
            using var cmd = new Npgsql.NpgsqlCommand($"SELECT count(*) FROM {table}", c);
            Assert.Equal(0L, (long)cmd.ExecuteScalar()!);
        }
    }
}
