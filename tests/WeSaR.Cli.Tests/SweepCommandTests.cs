using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>`wesar sweep` as a user drives it: real processes, a real journal, Ctrl-C as a real SIGINT.</summary>
public sealed class SweepCommandTests : IDisposable
{
    readonly TempDir dir = TestEnv.NewTempDir();

    public void Dispose() => dir.Dispose();

    string Work => Path.Combine(dir.Path, "work");

    string SweepFile(int steps, string extra = "") => TestSweeps.Write(dir.Path, "cli", "init.scheme = [he, \"wesar(he)\"]", steps, extra);

    string[] Sweep(params string[] args) => ["--workdir", Work, "sweep", .. args];


    [Fact]
    public void The_readme_main_job_runs_with_nothing_but_the_repository()
    {
        // The README's command with fewer steps: the quickstart sweep on the built-in corpus, no --set data.path.
        var r = Wesar.Run(Sweep("run", Path.Combine(TestEnv.RepoRoot, "hocon", "sweeps", "quickstart.conf"),
            "--set", "train.steps=8", "--set", "train.eval-interval=4", "--set", "train.eval-batches=2", "--set", "checkpoint.interval=4"));
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.True(File.Exists(Path.Combine(Work, "data", "builtin.txt")));
        var id = Regex.Match(r.Stdout, @"^sweep (quickstart-\w+): 4 run\(s\)", RegexOptions.Multiline).Groups[1].Value;
        // Progress a person can plan by: which run of how many, its speed and ETA, and the sweep's ETA.
        Assert.Matches(@"(?m)^run [1-4]/4 +scheme=\S+ lr=\S+ seed=1 +step +\d+/8 +loss +\d+\.\d{4}.* \| +[\d,]+ tok/s ETA \d+m\d\ds .*\| sweep ETA ~\d+m\d\ds$", r.Stdout);
        Assert.Matches(@"(?m)^sweep: [1-3] of 4 run\(s\) ended, \d running · ETA ~\d+m\d\ds$", r.Stdout);
        Assert.DoesNotMatch(@"(?m)^sweep: [1-3] of 4 .*ETA after the first steps$", r.Stdout);   // the ended runs' pace times the rest
        var done = Wesar.Run(Sweep("status", id, "--json")).Json();
        Assert.Equal("completed", done.GetProperty("state").GetString());
        Assert.All(done.GetProperty("runs").EnumerateArray(), run => Assert.Equal(8, run.GetProperty("step").GetInt64()));
    }

    [Theory]
    [InlineData("INT")]    // Ctrl-C
    [InlineData("TERM")]   // kill, systemd, a batch scheduler
    public void A_stop_signal_stops_every_run_at_a_committed_checkpoint_and_resume_finishes_the_sweep(string signal)
    {
        string id;
        // The runs hold their step-300 checkpoint write for up to 4 minutes: they are surely running when the second
        // process, the readers and the signal come, however loaded the machine (the stop cuts the hold short).
        var file = SweepFile(600, """
            faults { pauses = ["checkpoint-write@300"], pause-seconds = 240 }
            train.eval-interval = 100
            """);
        using (var p = new RunningWesar(Sweep("run", file, "--set", "orchestrator.slots.cpu=2")))
        {
            id = Regex.Match(p.WaitFor(l => l.StartsWith("sweep cli-"), TimeSpan.FromMinutes(2)), @"^sweep (\S+):").Groups[1].Value;
            // Both runs: each then stops at step 300 and the resume never meets the hold again.
            foreach (var run in new[] { "[scheme=he]", "[scheme=wesar(he)]" })
                p.WaitFor(l => l.StartsWith(run) && l.Contains("fault: holding checkpoint-write@300"), TimeSpan.FromMinutes(3));
            var second = Wesar.Run(Sweep("resume", id));
            Assert.Equal(2, second.ExitCode);
            Assert.Contains("already running in another process", second.Stderr);
            ReadersAgreeWhileTraining(id);
            Process.Start("kill", [$"-{signal}", p.Pid.ToString()])!.WaitForExit();
            var code = p.WaitForExit(TimeSpan.FromMinutes(2));
            Assert.True(code == 130, $"exit code {code}:\n{p.Output}\n{LogWarnings()}");
            Assert.Contains($"sweep resume {id} --set orchestrator.slots.cpu=2", p.Output);   // the journal and slots as given
        }

        var stopped = Wesar.Run(Sweep("status", id, "--json")).Json();
        Assert.Equal(id, stopped.GetProperty("id").GetString());
        Assert.Equal("running", stopped.GetProperty("state").GetString());
        var runs = stopped.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(2, runs.Count);
        foreach (var r in runs)
        {
            Assert.Equal("running", r.GetProperty("state").GetString());
            var step = r.GetProperty("step").GetInt64();
            Assert.InRange(step, 1, 599);
            // The stop checkpointed the step it ended on, and the journal committed it.
            var ckpt = Path.Combine(Work, "sweeps", id, r.GetProperty("run").GetString()!, "checkpoints", $"step-{step:D9}");
            Assert.True(Directory.Exists(ckpt), ckpt);
            Assert.True(r.GetProperty("spikes").GetInt32() >= r.GetProperty("rollbacks").GetInt32());
        }

        var resumed = Wesar.Run(Sweep("resume", id));
        Assert.True(resumed.ExitCode == 0, resumed.Stdout + resumed.Stderr);
        Assert.Contains("resumed from step", resumed.Stdout);
        var done = Wesar.Run(Sweep("status", id, "--json")).Json();
        Assert.Equal("completed", done.GetProperty("state").GetString());
        Assert.All(done.GetProperty("runs").EnumerateArray(), r =>
        {
            Assert.Equal("completed", r.GetProperty("state").GetString());
            Assert.Equal(600, r.GetProperty("step").GetInt64());
        });
        var list = Wesar.Run(Sweep("list", "--json")).Json();
        var entry = Assert.Single(list.EnumerateArray());
        Assert.Equal((id, "completed"), (entry.GetProperty("id").GetString(), entry.GetProperty("state").GetString()));

        // Running the same file again finds the finished sweep and trains nothing.
        var again = Wesar.Run(Sweep("run", file));
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("2 of 2 run(s) already ended", again.Stdout);
        Assert.DoesNotContain("eval at", again.Stdout);
    }

    // What the sweep process logged at warning level or above (the log file keeps what stderr does not show).
    string LogWarnings() => string.Join("\n", Directory.EnumerateFiles(Path.Combine(Work, "logs")).SelectMany(File.ReadLines)
        .Where(l => !l.Contains("\"@l\":\"Information\"") && l.Contains("\"@l\"")));

    /// <summary>
    /// Eight `sweep status --json` at once while two runs train (each command starts an ActorSystem and the journal on
    /// a loaded machine), and `runs list` telling the same step, loss and validation loss as `sweep status`.
    /// </summary>
    void ReadersAgreeWhileTraining(string id)
    {
        var statuses = Enumerable.Range(0, 8).Select(_ => Task.Run(() => Wesar.Run(Sweep("status", id, "--json")))).ToArray();
        Task.WaitAll(statuses);
        foreach (var t in statuses) Assert.Equal(2, t.Result.Json().GetProperty("runs").GetArrayLength());
        var status = Wesar.Run(Sweep("status", id, "--json")).Json().GetProperty("runs").EnumerateArray()
            .ToDictionary(r => r.GetProperty("run").GetString()!, r => (r.GetProperty("step").GetInt64(), r.GetProperty("last_loss").GetDouble(), r.GetProperty("val_loss").GetDouble()));
        var runs = Wesar.Run("--workdir", Work, "runs", "list", "--sweep", id, "--json").Json().EnumerateArray()
            .ToDictionary(r => r.GetProperty("run").GetString()!, r => (r.GetProperty("step").GetInt64(), r.GetProperty("last_loss").GetDouble(), r.GetProperty("val_loss").GetDouble()));
        Assert.Equal(status, runs);
        Assert.All(status.Values, v => Assert.InRange(v.Item1, 300, 600));   // held at the step-300 checkpoint: the live step, not the last commit
    }

    [Fact]
    public void Sweep_retry_gives_failed_runs_another_go_and_they_end_as_an_undisturbed_run_would()
    {
        // Each run crashes at step 15 on its first two starts; one restart is allowed, so both fail at first.
        var faulty = TestSweeps.Write(dir.Path, "retry", "run.seed = [1, 2]", 20, "sweep.max-restarts = 1\nfaults { throw-at-step = 15, throw-attempts = 2 }");
        var failed = Wesar.Run(Sweep("run", faulty));
        Assert.True(failed.ExitCode == 1, failed.Stdout + failed.Stderr);
        var id = Regex.Match(failed.Stdout, @"^sweep (retry-\w+):", RegexOptions.Multiline).Groups[1].Value;
        Assert.All(Wesar.Run(Sweep("status", id, "--json")).Json().GetProperty("runs").EnumerateArray(), r => Assert.Equal("failed", r.GetProperty("state").GetString()));

        var refused = Wesar.Run(Sweep("retry", id));
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--failed", refused.Stderr);
        var retried = Wesar.Run(Sweep("retry", id, "--failed"));
        Assert.True(retried.ExitCode == 0, retried.Stdout + retried.Stderr);
        var runs = Wesar.Run(Sweep("status", id, "--json")).Json().GetProperty("runs").EnumerateArray().ToList();
        Assert.All(runs, r => Assert.Equal(("completed", 20L, 1), (r.GetProperty("state").GetString(), r.GetProperty("step").GetInt64(), r.GetProperty("restarts").GetInt32())));
        var events = Wesar.Run("--workdir", Work, "runs", "events", $"{id}/{runs[0].GetProperty("run").GetString()}").Stdout;
        Assert.Contains("retried (it had stopped: gave up after 1 restart(s)", events);
        Assert.Equal(2, Wesar.Run(Sweep("retry", id, "--failed")).ExitCode);   // nothing failed any more

        // The faults change no step: the retried runs end with the weights of a sweep that never crashed.
        var clean = Wesar.Run("--workdir", Path.Combine(dir.Path, "clean"), "sweep", "run", TestSweeps.Write(dir.Path, "clean", "run.seed = [1, 2]", 20));
        Assert.True(clean.ExitCode == 0, clean.Stdout + clean.Stderr);
        var reference = Wesar.Run("--workdir", Path.Combine(dir.Path, "clean"), "runs", "list", "--json").Json().EnumerateArray().Select(r => r.GetProperty("model_sha256").GetString()).Order();
        Assert.Equal(reference, runs.Select(r => r.GetProperty("model_sha256").GetString()).Order());
    }

    [Fact]
    public void Bad_input_exits_with_code_2_and_a_clear_message_before_anything_is_written()
    {
        var missing = Wesar.Run(Sweep("run", Path.Combine(dir.Path, "nope.conf")));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("sweep file not found", missing.Stderr);

        var badKey = Wesar.Run(Sweep("run", SweepFile(20), "--set", "optim.lrr=1"));
        Assert.Equal(2, badKey.ExitCode);
        Assert.Contains("optim.lrr: unknown key", badKey.Stderr);

        var badSlot = Wesar.Run(Sweep("run", SweepFile(20), "--set", "orchestrator.slots.cuda=[gpu0]"));
        Assert.Equal(2, badSlot.ExitCode);
        Assert.Contains("expected \"cuda:N\"", badSlot.Stderr);
        var noGpu = Wesar.Run(Sweep("run", SweepFile(20), "--set", "orchestrator.slots.cuda=[\"cuda:0\"]"));
        Assert.Equal(2, noGpu.ExitCode);   // this CPU build has no CUDA
        Assert.Contains("CUDA is not available", noGpu.Stderr);
        Assert.False(Directory.Exists(Work), "nothing may be written for bad input");

        var noJournal = Wesar.Run(Sweep("status", "cli-00000000"));
        Assert.Equal(2, noJournal.ExitCode);
        Assert.Contains("no journal", noJournal.Stderr);

        var help = Wesar.Run("sweep", "--help");
        foreach (var sub in new[] { "run", "resume", "status", "list" }) Assert.Contains(sub, help.Stdout);
    }

    [Fact]
    public void Bad_cluster_input_exits_with_code_2_before_a_node_starts_or_a_sweep_is_sent()
    {
        var node = Wesar.Run("--workdir", Work, "node", "--seed", "nope", "--roles", "boss");
        Assert.Equal(2, node.ExitCode);
        Assert.Contains("orchestrator.cluster.seeds: expected \"host:port\", got 'nope'", node.Stderr);
        Assert.Contains("unknown role 'boss'", node.Stderr);

        var tls = Wesar.Run("--workdir", Work, "node", "--seed", "127.0.0.1:4053", "--set", "orchestrator.cluster.tls.enabled=on");
        Assert.Equal(2, tls.ExitCode);
        Assert.Contains("orchestrator.cluster.tls.certificate", tls.Stderr);

        var noDb = Wesar.Run(TimeSpan.FromMinutes(1), new Dictionary<string, string> { ["WESAR_POSTGRES"] = "" },
            "--workdir", Work, "node", "--seed", "127.0.0.1:4053", "--set", "orchestrator.journal.provider=postgresql");
        Assert.Equal(2, noDb.ExitCode);
        Assert.Contains("WESAR_POSTGRES", noDb.Stderr);

        var contact = Wesar.Run(Sweep("run", SweepFile(20), "--cluster", "nope"));
        Assert.Equal(2, contact.ExitCode);
        Assert.Contains("--cluster: expected host:port", contact.Stderr);
        var detach = Wesar.Run(Sweep("run", SweepFile(20), "--detach"));
        Assert.Equal(2, detach.ExitCode);
        Assert.Contains("--detach needs --cluster", detach.Stderr);
        Assert.False(Directory.Exists(Work), "nothing may be written for bad input");
    }
}
