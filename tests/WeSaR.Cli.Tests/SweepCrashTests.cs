using System.Text.RegularExpressions;
using WeSaR.Actors.Sweeps;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>`wesar sweep` killed with SIGKILL at chosen moments, resumed, and compared with an uninterrupted sweep.</summary>
public sealed class SweepCrashTests : IDisposable
{
    readonly TempDir dir = TestEnv.NewTempDir();
    static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        dir.Dispose();
    }

    // Two runs of 60 steps; batch 35 is poisoned, so each spikes at step 36 and rolls back. The pauses hold a
    // checkpoint write at step 30 and the rollback at step 36 long enough to kill the process inside them.
    string SweepFile() => TestSweeps.Write(dir.Path, "crash", "run.seed = [1, 2]", 60,
        """faults { poison-batches = [35], poison-scale = 50, pauses = ["checkpoint-write@30", "rollback@36"], pause-seconds = 4 }""");

    string[] Args(string workdir, params string[] command) => ["--workdir", workdir, "sweep", .. command, "--set", "orchestrator.slots.cpu=2"];

    static long ProgressStep(string line) => Regex.Match(line, @"step\s+(\d+)/60") is { Success: true } m ? long.Parse(m.Groups[1].Value) : -1;

    [Fact]
    public async Task A_sweep_killed_during_training_a_checkpoint_write_and_a_rollback_completes_each_run_once_and_bit_for_bit()
    {
        var file = SweepFile();
        var straight = Path.Combine(dir.Path, "straight");
        var crashed = Path.Combine(dir.Path, "crashed");

        using (var p = new RunningWesar(Args(straight, "run", file)))
            Assert.True(p.WaitForExit(Patience) == 0, p.Output);

        SweepId id;
        using (var p = new RunningWesar(Args(crashed, "run", file)))
        {
            id = new SweepId(Regex.Match(p.WaitFor(l => l.StartsWith("sweep crash-"), Patience), @"^sweep (\S+):").Groups[1].Value);
            p.WaitFor(l => ProgressStep(l) is >= 12 and < 30, Patience);   // 1: in the middle of training
            p.KillHard();
        }
        using (var p = new RunningWesar(Args(crashed, "resume", id.Value)))
        {
            p.WaitFor(l => l.Contains("fault: holding checkpoint-write@30"), Patience);   // 2: files written, not committed
            p.KillHard();
        }
        Assert.NotEmpty(Directory.GetDirectories(Path.Combine(crashed, "sweeps", id.Value), ".tmp-step-000000030-*", SearchOption.AllDirectories));
        using (var p = new RunningWesar(Args(crashed, "resume", id.Value)))
        {
            p.WaitFor(l => l.Contains("fault: holding rollback@36"), Patience);   // 3: rollback persisted, not yet done
            p.KillHard();
        }
        Assert.NotEmpty((await SweepJournal.Events(crashed, id)).OfType<RolledBack>());
        using (var p = new RunningWesar(Args(crashed, "resume", id.Value)))
            Assert.True(p.WaitForExit(Patience) == 0, p.Output);

        var expected = await SweepJournal.Events(straight, id);
        var actual = await SweepJournal.Events(crashed, id);
        Assert.Single(actual.OfType<SweepCompleted>());
        var want = expected.OfType<RunCompleted>().ToDictionary(e => e.Run, e => e.Metrics);
        var got = actual.OfType<RunCompleted>().ToList();
        Assert.Equal(2, want.Count);
        Assert.Equal(want.Keys.Select(r => r.Value).Order(), got.Select(e => e.Run.Value).Order());   // each run completed exactly once
        foreach (var g in got)
        {
            var w = want[g.Run];
            Assert.Equal((w.ModelSha256, w.ValLoss, w.LastLoss, w.Step), (g.Metrics.ModelSha256, g.Metrics.ValLoss, g.Metrics.LastLoss, g.Metrics.Step));
            Assert.Equal((1, 1), (g.Metrics.Spikes, g.Metrics.Rollbacks));
        }
        // The read side over the killed-and-resumed journal: one record per run, nothing counted twice.
        var listed = Wesar.Run("--workdir", crashed, "runs", "list", "--sweep", id.Value, "--json");
        var records = System.Text.Json.JsonDocument.Parse(listed.Stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(2, records.Count);
        Assert.All(records, r => Assert.Equal(("completed", 1, 1), (r.GetProperty("state").GetString(), r.GetProperty("spikes").GetInt32(), r.GetProperty("rollbacks").GetInt32())));

        // The kill inside the rollback came after its decision was persisted: that spike was never decided twice.
        Assert.Equal(2, actual.OfType<RolledBack>().Count());
        Assert.All(actual.OfType<RolledBack>(), r => Assert.Equal((36L, 30L, 6L), (r.FromStep, r.ToStep, r.SkipBatches)));
    }
}
