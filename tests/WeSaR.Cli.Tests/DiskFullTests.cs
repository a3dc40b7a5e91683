using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>
/// A disk that fills for real: a small tmpfs made by the test (and removed after) under the run folders, or under
/// the whole work folder. The sweep stops within seconds with the cause and a resume command that works as printed,
/// spends no restart, and once space is freed finishes with the weights of a sweep that never ran short.
/// </summary>
public sealed class DiskFullTests : IDisposable
{
    readonly TempDir dir = TestEnv.NewTempDir();
    readonly List<Tmpfs> mounts = [];
    static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    public void Dispose()
    {
        foreach (var m in mounts) m.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        dir.Dispose();
    }

    string Mount(string name, string size)
    {
        var mount = new Tmpfs(Path.Combine(dir.Path, name), size);
        mounts.Add(mount);
        return mount.Path;
    }

    string SweepFile() => TestSweeps.Write(dir.Path, "full", "run.seed = [1, 2]", 40);


    [MountFact]
    public void A_full_disk_under_the_run_folders_stops_the_sweep_without_spending_restarts_and_it_finishes_once_space_is_freed()
    {
        var work = Path.Combine(dir.Path, "work");
        // Room for the tokenized corpus and a checkpoint or two of each run, not for 40 steps of them.
        var shared = Mount("shared", "4m");
        string[] where = ["--set", $"orchestrator.shared-dir={shared}"];
        var full = Wesar.Run(Patience, ["--workdir", work, "sweep", "run", SweepFile(), .. where]);
        Assert.True(full.ExitCode == 1, $"exit {full.ExitCode}\n{full.Stdout}\n{full.Stderr}");
        Assert.Contains("the sweep stopped: the disk is full", full.Stderr);
        Assert.Contains("Nothing is lost and no restart was spent", full.Stderr);
        Assert.DoesNotContain("Unhandled", full.Stderr);
        var id = Regex.Match(full.Stdout, @"^sweep (full-\w+):", RegexOptions.Multiline).Groups[1].Value;
        var resume = Regex.Match(full.Stderr, @"continue with: (wesar .*)$", RegexOptions.Multiline).Groups[1].Value.Split(' ');
        Assert.Equal(["wesar", "--workdir", work, "sweep", "resume", id, "--set", $"orchestrator.shared-dir={shared}"], resume);
        var stopped = Wesar.Run("--workdir", work, "sweep", "status", id, "--json", "--set", $"orchestrator.shared-dir={shared}").Json();
        // Interrupted, not failed: the machine's fault, with the cause on record.
        Assert.All(stopped.GetProperty("runs").EnumerateArray(), r =>
        {
            Assert.Equal(("interrupted", 0), (r.GetProperty("state").GetString(), r.GetProperty("restarts").GetInt32()));
            Assert.StartsWith("the disk is full (run ", r.GetProperty("failure").GetString());
        });

        mounts.Single().Resize("200m");   // space freed
        var resumed = Wesar.Run(Patience, resume[1..]);
        Assert.True(resumed.ExitCode == 0, resumed.Stdout + resumed.Stderr);
        var done = Wesar.Run("--workdir", work, "runs", "list", "--sweep", id, "--json", "--set", $"orchestrator.shared-dir={shared}").Json();
        Assert.All(done.EnumerateArray(), r => Assert.Equal(("completed", 40L, 0), (r.GetProperty("state").GetString(), r.GetProperty("step").GetInt64(), r.GetProperty("restarts").GetInt32())));

        var clean = Path.Combine(dir.Path, "clean");
        Assert.Equal(0, Wesar.Run(Patience, "--workdir", clean, "sweep", "run", SweepFile()).ExitCode);
        var reference = Wesar.Run("--workdir", clean, "runs", "list", "--json").Json().EnumerateArray().Select(r => r.GetProperty("model_sha256").GetString()).Order();
        Assert.Equal(reference, done.EnumerateArray().Select(r => r.GetProperty("model_sha256").GetString()).Order());
    }

    [MountFact]
    public void A_full_disk_under_the_whole_work_folder_ends_the_sweep_within_seconds_with_the_cause_and_it_finishes_once_space_is_freed()
    {
        var work = Mount("work", "4m");
        var clock = Stopwatch.StartNew();
        var full = Wesar.Run(Patience, "--workdir", work, "sweep", "run", SweepFile());
        Assert.True(full.ExitCode == 1, $"exit {full.ExitCode}\n{full.Stdout}\n{full.Stderr}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");   // not the 5 minutes of a shutdown phase timing out
        Assert.Matches("the sweep stopped: (the disk is full|the journal could not be written)", full.Stderr);
        var resume = Regex.Match(full.Stderr, @"continue with: (wesar .*)$", RegexOptions.Multiline).Groups[1].Value.Split(' ');
        Assert.Equal(["wesar", "--workdir", work, "sweep", "resume"], resume[..5]);
        Assert.DoesNotContain("Unhandled", full.Stderr);

        // The journal shared the full disk; once space is freed it resumes as printed, and each run ends once with
        // an undisturbed sweep's weights.
        mounts.Single().Resize("200m");
        var resumed = Wesar.Run(Patience, resume[1..]);
        Assert.True(resumed.ExitCode == 0, resumed.Stdout + resumed.Stderr);
        var done = Wesar.Run("--workdir", work, "runs", "list", "--json").Json().EnumerateArray().ToList();
        Assert.Equal(2, done.Count);
        Assert.All(done, r => Assert.Equal(("completed", 40L, 0), (r.GetProperty("state").GetString(), r.GetProperty("step").GetInt64(), r.GetProperty("restarts").GetInt32())));
        var clean = Path.Combine(dir.Path, "clean");
        Assert.Equal(0, Wesar.Run(Patience, "--workdir", clean, "sweep", "run", SweepFile()).ExitCode);
        var reference = Wesar.Run("--workdir", clean, "runs", "list", "--json").Json().EnumerateArray().Select(r => r.GetProperty("model_sha256").GetString()).Order();
        Assert.Equal(reference, done.Select(r => r.GetProperty("model_sha256").GetString()).Order());
    }
}
