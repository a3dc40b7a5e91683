using System.Text.Json;
using System.Text.RegularExpressions;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>
/// The journal's PostgreSQL server stopped for real for 20 s under a running sweep (a server of the test's own, so
/// no other test loses its database): the sweep waits, continues when the server is back, and every run completes
/// once, without a restart, with the weights of a sweep that never lost its journal.
/// </summary>
public sealed class JournalOutageTests : IDisposable
{
    readonly TempDir dir = TestEnv.NewTempDir();
    static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        dir.Dispose();
    }


    [PostgresServerFact]
    public void A_20_second_postgresql_outage_is_ridden_out_and_every_run_completes_once_bit_for_bit()
    {
        using var pg = new PrivatePostgres();
        var env = new Dictionary<string, string> { ["WESAR_POSTGRES"] = pg.ConnectionString };
        string[] journal = ["--set", "orchestrator.journal.provider=postgresql"];
        // The runs hold their step-30 checkpoint write, so the server goes down while they are surely mid-run; the
        // commit of step 30 is the write that fails.
        var file = TestSweeps.Write(dir.Path, "outage", "run.seed = [1, 2]", 60, """faults { pauses = ["checkpoint-write@30"], pause-seconds = 3 }""");
        var work = Path.Combine(dir.Path, "work");
        string id;
        using (var p = new RunningWesar(env, ["--workdir", work, "sweep", "run", file, .. journal]))
        {
            id = Regex.Match(p.WaitFor(l => l.StartsWith("sweep outage-"), Patience), @"^sweep (\S+):").Groups[1].Value;
            p.WaitFor(l => l.Contains("fault: holding checkpoint-write@30"), Patience);
            pg.Stop();
            p.WaitFor(l => l.Contains("waiting up to"), Patience);
            Thread.Sleep(TimeSpan.FromSeconds(20));
            pg.Start();
            Assert.True(p.WaitForExit(Patience) == 0, p.Output);
            Assert.Contains("the journal answers again; continuing the sweep", p.Output);
        }

        var runs = Wesar.Run(Patience, env, ["--workdir", work, "runs", "list", "--sweep", id, "--json", .. journal]).Json().EnumerateArray().ToList();
        Assert.All(runs, r => Assert.Equal(("completed", 60L, 0), (r.GetProperty("state").GetString(), r.GetProperty("step").GetInt64(), r.GetProperty("restarts").GetInt32())));
        foreach (var r in runs)
        {
            var events = Wesar.Run(Patience, env, ["--workdir", work, "runs", "events", $"{id}/{r.GetProperty("run").GetString()}", "--json", .. journal]).Stdout;
            Assert.Single(Regex.Matches(events, "\"type\":\"RunCompleted\""));
        }

        var clean = Path.Combine(dir.Path, "clean");
        Assert.Equal(0, Wesar.Run(Patience, "--workdir", clean, "sweep", "run", TestSweeps.Write(dir.Path, "clean", "run.seed = [1, 2]", 60)).ExitCode);
        var reference = Wesar.Run("--workdir", clean, "runs", "list", "--json").Json().EnumerateArray().Select(r => r.GetProperty("model_sha256").GetString()).Order();
        Assert.Equal(reference, runs.Select(r => r.GetProperty("model_sha256").GetString()).Order());
    }
}
