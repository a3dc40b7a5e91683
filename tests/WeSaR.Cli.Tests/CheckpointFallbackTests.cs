using System.Text.Json;
using System.Text.RegularExpressions;
using WeSaR.Model.Checkpoints;
using WeSaR.TestSupport;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Tests;

/// <summary>
/// A stopped sweep whose checkpoints are damaged or gone on disk before `wesar sweep resume`: each run falls back to
/// the newest checkpoint that verifies (or step 0), the journal says so, and no restart is spent.
/// </summary>
public sealed class CheckpointFallbackTests : IDisposable
{
    readonly TempDir dir = TestEnv.NewTempDir();
    static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    const int Steps = 40;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        dir.Dispose();
    }

    static string[] Args(string workdir, params string[] command) => ["--workdir", workdir, "sweep", .. command, "--set", "orchestrator.slots.cpu=3"];

    static JsonElement Json(params string[] args)
    {
        var r = Wesar.Run(args);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        return JsonDocument.Parse(r.Stdout).RootElement;
    }

    static Dictionary<string, JsonElement> RunsByLabel(string workdir, string sweep) =>
        Json("--workdir", workdir, "runs", "list", "--sweep", sweep, "--json").EnumerateArray().ToDictionary(r => r.GetProperty("label").GetString()!);

    static List<JsonElement> Events(string workdir, string run) =>
        Wesar.Run("--workdir", workdir, "runs", "events", run, "--json").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Fact]
    public void A_damaged_checkpoint_or_a_deleted_checkpoint_or_run_folder_falls_back_without_a_restart_and_ends_bit_for_bit()
    {
        const string grid = "run.seed = [1, 2, 3]";
        string[] labels = ["seed=1", "seed=2", "seed=3"];
        var straight = Path.Combine(dir.Path, "straight");
        var damaged = Path.Combine(dir.Path, "damaged");
        var undisturbed = Wesar.Run(Args(straight, "run", TestSweeps.Write(dir.Path, "straight", grid, Steps)));
        Assert.True(undisturbed.ExitCode == 0, undisturbed.Stdout + undisturbed.Stderr);
        var expected = RunsByLabel(straight, Regex.Match(undisturbed.Stdout, @"^sweep (straight-\w+):", RegexOptions.Multiline).Groups[1].Value);

        // SIGKILL while every run holds its step-30 checkpoint write: each has 10 and 20 committed, 30 only half written.
        // The resumed runs hold there once more, so the hold is only as long as the three runs need to reach it.
        var file = TestSweeps.Write(dir.Path, "fallback", grid, Steps, """faults { pauses = ["checkpoint-write@30"], pause-seconds = 15 }""");
        string id;
        using (var p = new RunningWesar(Args(damaged, "run", file)))
        {
            id = Regex.Match(p.WaitFor(l => l.StartsWith("sweep fallback-"), Patience), @"^sweep (\S+):").Groups[1].Value;
            foreach (var label in labels) p.WaitFor(l => l.Contains($"[{label}] fault: holding checkpoint-write@30"), Patience);
            p.KillHard();
        }

        var stopped = RunsByLabel(damaged, id);
        string Folder(string label) => Path.Combine(damaged, "sweeps", id, stopped[label].GetProperty("run").GetString()!);
        Assert.Equal(labels, stopped.Keys.Order());
        // Killed while writing step 30: the newest logged step is 30, the newest committed checkpoint 20.
        Assert.All(stopped.Values, r => Assert.Equal(30, r.GetProperty("step").GetInt64()));
        Assert.All(stopped.Keys, label => Assert.Equal(CheckpointStore.FolderName(20),
            Directory.EnumerateDirectories(Path.Combine(Folder(label), TrainingRun.CheckpointDir)).Select(Path.GetFileName).Where(n => n!.StartsWith("step-")).Max()));
        Damage.Flip16Bytes(Path.Combine(Folder("seed=1"), TrainingRun.CheckpointDir, CheckpointStore.FolderName(20), Trainer.ModelFile));
        Directory.Delete(Path.Combine(Folder("seed=2"), TrainingRun.CheckpointDir), recursive: true);
        Directory.Delete(Folder("seed=3"), recursive: true);

        var resumed = Wesar.Run(Args(damaged, "resume", id));
        Assert.True(resumed.ExitCode == 0, resumed.Stdout + resumed.Stderr);

        var done = RunsByLabel(damaged, id);
        // seed=1 falls back to step 10, the newest that verifies; the other two have nothing left and start over.
        foreach (var (label, resumeStep, reason) in labels.Zip([10L, 0L, 0L], ["model.dat does not match its manifest hash", "missing", "missing"]))
        {
            var run = done[label];
            Assert.Equal(("completed", Steps, 0), (run.GetProperty("state").GetString(), run.GetProperty("step").GetInt32(), run.GetProperty("restarts").GetInt32()));
            Assert.Matches("^[0-9a-f]{64}$", expected[label].GetProperty("model_sha256").GetString());
            Assert.Equal(expected[label].GetProperty("model_sha256").GetString(), run.GetProperty("model_sha256").GetString());

            var events = Events(damaged, $"{id}/{run.GetProperty("run").GetString()}");
            Assert.Single(events, e => e.GetProperty("type").GetString() == "RunCompleted");
            Assert.DoesNotContain(events, e => e.GetProperty("type").GetString() is "RunRestarted" or "RunFailed");
            var rejected = Assert.Single(events, e => e.GetProperty("type").GetString() == "CheckpointRejected").GetProperty("event");
            Assert.Equal((20L, resumeStep), (rejected.GetProperty("step").GetInt64(), rejected.GetProperty("resume_step").GetInt64()));
            Assert.Contains(reason, rejected.GetProperty("reason").GetString());
        }
        var human = Wesar.Run("--workdir", damaged, "runs", "events", $"{id}/{done["seed=1"].GetProperty("run").GetString()}").Stdout;
        Assert.Contains("checkpoint step 20 REJECTED", human);
    }
}
