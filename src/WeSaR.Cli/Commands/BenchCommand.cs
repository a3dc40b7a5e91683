using System.CommandLine;
using System.Text.Json;
using Akka.Actor;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Sweeps;
using WeSaR.Model;
using WeSaR.Training.Config;
using WeSaR.Training.Data;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar bench ...`: speed figures as ratios against a baseline measured in the same process, side by side.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config", "-c")
        {
            Description = "Run config both sides train with", DefaultValueFactory = _ => Path.Combine("hocon", "presets", "tiny.conf"),
        };
        var set = new Option<string[]>("--set", "-s") { Description = "Override a run key, e.g. --set data.path=corpus.txt (repeatable)" };
        var steps = new Option<int>("--steps") { Description = "Steps per measurement", DefaultValueFactory = _ => 60 };
        var repeats = new Option<int>("--repeats") { Description = "Measurements per side, alternating bare and orchestrated", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads")
        {
            Description = "LibTorch threads of both sides (1, the default slot setting, leaves a core to the OS and the actors)",
            DefaultValueFactory = _ => 1,
        };
        var orchestrator = new Command("orchestrator",
            "Tokens/s of one run under the full orchestrator (coordinator, SQLite journal, slot, trainer and spike-monitor actors, "
            + "a verdict per step, a persisted commit per checkpoint) against the bare training loop, alternating, in one process")
            { config, set, steps, repeats, threads };
        orchestrator.SetAction((r, ct) => Orchestrator(r.GetValue(config)!, r.GetValue(set) ?? [], r.GetValue(steps), r.GetValue(repeats),
            r.GetValue(threads), r.GetValue(GlobalOptions.Workdir)!));
        var events = new Option<int>("--events") { Description = "Events of the largest synthetic sweep (recovery and queries)", DefaultValueFactory = _ => 100_000 };
        var singles = new Option<int>("--singles") { Description = "Events persisted one command at a time, and in batches, per repeat", DefaultValueFactory = _ => 2000 };
        var journalRepeats = new Option<int>("--repeats") { Description = "Timings of each figure, alternating within its part (the median is printed)", DefaultValueFactory = _ => 5 };
        var orchestratorSet = new Option<string[]>("--set", "-s") { Description = "Orchestrator keys, e.g. --set orchestrator.journal.provider=postgresql" };
        var journal = new Command("journal",
            "The journal over synthetic sweeps of 100 runs: events persisted per second one awaited command at a time against batches, "
            + "the coordinator's recovery of 10k and --events events with and without a snapshot, and the read side's queries against a raw SQL read")
            { events, singles, journalRepeats, orchestratorSet };
        journal.SetAction((r, ct) => JournalBench.Run(r.GetValue(events), r.GetValue(singles), r.GetValue(journalRepeats), r.GetValue(orchestratorSet) ?? []));
        var stepConfig = new Option<string>("--config", "-c")
        {
            Description = "Run config to time", DefaultValueFactory = _ => Path.Combine("hocon", "presets", "tiny.conf"),
        };
        var stepSet = new Option<string[]>("--set", "-s") { Description = "Override a run key, e.g. --set model.n-layer=4 (repeatable)" };
        var schemes = new Option<string[]>("--scheme")
        {
            Description = "Init schemes to time side by side, the first the baseline (repeatable)", DefaultValueFactory = _ => ["he", "wesar(he)"],
        };
        var stepSteps = new Option<int>("--steps") { Description = "Timed steps per scheme and repeat (after 3 warm-up steps)", DefaultValueFactory = _ => 30 };
        var stepRepeats = new Option<int>("--repeats") { Description = "Repeats, alternating the schemes", DefaultValueFactory = _ => 3 };
        var stepThreads = new Option<int>("--threads") { Description = "LibTorch threads (run.threads)", DefaultValueFactory = _ => 1 };
        var step = new Command("step",
            "Training step time per init scheme (min and median), tokens/s and MFU = tokens x (6 N + 12 L T d) / s over an sgemm peak "
            + "measured in the same process; pin it to cores with taskset for stable figures")
            { stepConfig, stepSet, schemes, stepSteps, stepRepeats, stepThreads };
        step.SetAction(r => Step(r.GetValue(stepConfig)!, r.GetValue(stepSet) ?? [], r.GetValue(schemes)!, r.GetValue(stepSteps), r.GetValue(stepRepeats),
            r.GetValue(stepThreads), r.GetValue(GlobalOptions.Workdir)!));
        var torchConfig = new Option<string>("--config", "-c")
        {
            Description = "Run config both sides train", DefaultValueFactory = _ => Path.Combine("hocon", "presets", "tiny.conf"),
        };
        var torchSet = new Option<string[]>("--set", "-s") { Description = "Override a run key, e.g. --set train.batch-size=8 (repeatable)" };
        var torchSchemes = new Option<string[]>("--scheme") { Description = "Init schemes to time (repeatable)", DefaultValueFactory = _ => ["he", "wesar(he)"] };
        var torchSteps = new Option<int>("--steps") { Description = "Timed steps per scheme, side and repeat (after 3 warm-up steps)", DefaultValueFactory = _ => 20 };
        var torchRepeats = new Option<int>("--repeats") { Description = "Repeats, alternating .NET and PyTorch", DefaultValueFactory = _ => 3 };
        var torchThreads = new Option<int>("--threads") { Description = "Threads of both sides (run.threads, torch.set_num_threads)", DefaultValueFactory = _ => 1 };
        var torchPython = new Option<string>("--python")
        {
            Description = "Python interpreter with torch (default: /usr/bin/python3, Debian's, for apt-get install python3-torch libopenblas0-pthread)",
        };
        var torch = new Command("torch",
            "Training step time against PyTorch on the same model, initial weights, shapes and threads (docs/python/bench_step.py), "
            + "alternating, with MFU of each side against its own sgemm; refuses a PyTorch on the reference BLAS. Pin it with taskset")
            { torchConfig, torchSet, torchSchemes, torchSteps, torchRepeats, torchThreads, torchPython };
        torch.SetAction(r => TorchBench.Run(r.GetValue(torchConfig)!, r.GetValue(torchSet) ?? [], r.GetValue(torchSchemes)!, r.GetValue(torchSteps),
            r.GetValue(torchRepeats), r.GetValue(torchThreads), r.GetValue(torchPython), r.GetValue(GlobalOptions.Workdir)!));
        var sweepConfig = new Option<string>("--config", "-c")
        {
            Description = "Run config of every run", DefaultValueFactory = _ => Path.Combine("hocon", "presets", "tiny.conf"),
        };
        var sweepSet = new Option<string[]>("--set", "-s") { Description = "Override a run key (repeatable)" };
        var sweepRuns = new Option<int>("--runs") { Description = "Runs in the sweep (seeds 1..N)", DefaultValueFactory = _ => 4 };
        var sweepSteps = new Option<int>("--steps") { Description = "Steps per run", DefaultValueFactory = _ => 40 };
        var sweepRepeats = new Option<int>("--repeats") { Description = "Measurements of each split, alternating", DefaultValueFactory = _ => 2 };
        var sweep = new Command("sweep",
            "Wall time of a sweep of N runs under the orchestrator against N bare runs spread over its slots (N x one bare run / slots), "
            + "for one slot per core with 1 thread each and for one slot with a thread per core, alternating")
            { sweepConfig, sweepSet, sweepRuns, sweepSteps, sweepRepeats };
        sweep.SetAction((r, ct) => Sweep(r.GetValue(sweepConfig)!, r.GetValue(sweepSet) ?? [], r.GetValue(sweepRuns), r.GetValue(sweepSteps),
            r.GetValue(sweepRepeats), r.GetValue(GlobalOptions.Workdir)!));
        var rollbackConfig = new Option<string>("--config", "-c")
        {
            Description = "Run config to time", DefaultValueFactory = _ => Path.Combine("hocon", "presets", "10m.conf"),
        };
        var rollbackSet = new Option<string[]>("--set", "-s") { Description = "Override a run key (repeatable)" };
        var rollbackRepeats = new Option<int>("--repeats") { Description = "Timings of each operation, alternating", DefaultValueFactory = _ => 7 };
        var rollbackThreads = new Option<int>("--threads") { Description = "LibTorch threads (run.threads)", DefaultValueFactory = _ => 1 };
        var rollback = new Command("rollback",
            "Putting a run back at a checkpoint from disk (read, hash check, rebuild) against from memory (checkpoint.memory: copies in "
            + "place), and against a plain training step: one that measures update ratios (spike.risk) and the copy spike.replay makes before it")
            { rollbackConfig, rollbackSet, rollbackRepeats, rollbackThreads };
        rollback.SetAction(r => Rollback(r.GetValue(rollbackConfig)!, r.GetValue(rollbackSet) ?? [], r.GetValue(rollbackRepeats), r.GetValue(rollbackThreads),
            r.GetValue(GlobalOptions.Workdir)!));
        var memoryConfig = new Option<string>("--config", "-c")
        {
            Description = "Run config to train", DefaultValueFactory = _ => Path.Combine("hocon", "presets", "tiny.conf"),
        };
        var memorySet = new Option<string[]>("--set", "-s") { Description = "Override a run key (repeatable)" };
        var memorySteps = new Option<int>("--steps") { Description = "Training steps (the config's evaluation and checkpoints included)", DefaultValueFactory = _ => 10_000 };
        var memoryThreads = new Option<int>("--threads") { Description = "LibTorch threads (run.threads)", DefaultValueFactory = _ => 1 };
        var memoryRows = new Option<int>("--rows") { Description = "Progress rows printed over the run", DefaultValueFactory = _ => 20 };
        var memory = new Command("memory",
            "Resident memory over a training run, split into mapped libraries, LibTorch's C heap (in use and kept free), the GC heap and the rest, "
            + "against the process before the run and after the heap is handed back; exits 1 if memory grows after warm-up")
            { memoryConfig, memorySet, memorySteps, memoryThreads, memoryRows };
        memory.SetAction((r, ct) => Task.FromResult(MemoryBench.Run(r.GetValue(memoryConfig)!, r.GetValue(memorySet) ?? [], r.GetValue(memorySteps), r.GetValue(memoryThreads),
            r.GetValue(memoryRows), r.GetValue(GlobalOptions.Workdir)!, ct)));
        return new Command("bench", "Benchmarks that print ratios against a baseline measured in the same run")
            { orchestrator, sweep, journal, step, torch, rollback, memory };
    }

    static async Task<int> Orchestrator(string configFile, string[] sets, int steps, int repeats, int threads, string workdir)
    {
        if (steps < 10 || repeats < 1 || threads < 1) return GlobalOptions.Fail("--steps must be at least 10, --repeats and --threads at least 1");
        // Same work on both sides: one slot, evaluation only at the end, a checkpoint every 20 steps.
        string[] common = [$"train.steps={steps}", "train.eval-interval=0", "checkpoint.interval=20", $"run.threads={threads}", .. sets];
        TrainSettings settings;
        try { settings = TrainSettings.Load(configFile, common); }
        catch (ConfigException e) { return GlobalOptions.Fail(e.Message); }
        using (var _ = DataSource.Open(settings.Data, workdir, Console.WriteLine)) { }

        var scratch = Directory.CreateTempSubdirectory("wesar-bench-").FullName;
        try
        {
            var sweepFile = Path.Combine(scratch, "bench.conf");
            File.WriteAllText(sweepFile, $"sweep {{ name = bench, base = {JsonSerializer.Serialize(Path.GetFullPath(configFile))} }}");
            var (orchestratorSettings, orchestratorConfig) = OrchestratorHost.LoadConfig(null,
                ["orchestrator.slots.cpu=1", $"orchestrator.slots.cpu-threads={threads}", "akka.loglevel=WARNING"]);
            Console.WriteLine($"bench orchestrator: {configFile}, {steps} steps x {repeats} repeat(s), 1 slot, {threads} thread(s); "
                              + "tokens/s = steady-state wall throughput of the whole loop (after 3 warm-up steps)");
            Console.WriteLine($"{"repeat",6} {"bare tok/s",12} {"orchestrated tok/s",19} {"ratio",7}");
            var ratios = new List<double>();
            for (var i = 1; i <= repeats; i++)
            {
                var bare = Bare(settings, Path.Combine(scratch, $"bare-{i}"), workdir);
                var finished = await Orchestrated(sweepFile, common, orchestratorSettings, orchestratorConfig, Path.Combine(scratch, $"orch-{i}"), workdir);
                var orchestrated = finished.State.Runs.Single().Result?.TokensPerS ?? throw new InvalidOperationException("the orchestrated run did not complete");
                ratios.Add(orchestrated / bare);
                Console.WriteLine($"{i,6} {bare,12:N0} {orchestrated,19:N0} {orchestrated / bare,7:F3}");
            }
            var median = ratios.Order().ElementAt(ratios.Count / 2);
            Console.WriteLine($"median ratio orchestrated/bare: {median:F3} (goal: at least 0.990)");
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(scratch, recursive: true);
        }
    }

    static int Step(string configFile, string[] sets, string[] schemes, int steps, int repeats, int threads, string workdir)
    {
        if (steps < 1 || repeats < 1 || threads < 1 || schemes.Length == 0)
            return GlobalOptions.Fail("--steps, --repeats and --threads must be at least 1, and name at least one --scheme");
        List<TrainSettings> settings;
        try { settings = schemes.Select(s => TrainSettings.Load(configFile, [.. sets, $"init.scheme={JsonSerializer.Serialize(s)}", $"run.threads={threads}"])).ToList(); }
        catch (ConfigException e) { return GlobalOptions.Fail(e.Message); }
        using var data = DataSource.Open(settings[0].Data, workdir, Console.WriteLine);
        TorchSharp.torch.set_num_threads(threads);
        NativeHeap.KeepFreedMemory();   // as a trainer does, before the first tensor
        var peak = StepBenchmark.SgemmPeak();
        var heap = NativeHeap.Kept ? "freed memory kept (mallopt)" : "glibc defaults";
        Console.WriteLine($"bench step: {configFile}, {steps} steps x {repeats} repeat(s) per scheme, {threads} thread(s); "
                          + $"sgemm 2048³ peak {peak / 1e9:F1} GFLOP/s; heap: {heap}");
        var results = StepBenchmark.Run(settings, data, steps, repeats);
        Console.WriteLine($"{"scheme",-22} {"min ms",8} {"median ms",10} {"tok/s",9} {"MFU",6} {"median vs " + results[0].Scheme,20}");
        foreach (var t in results)
            Console.WriteLine($"{t.Scheme,-22} {t.Min * 1e3,8:F1} {t.Median * 1e3,10:F1} {t.TokensPerStep / t.Median,9:N0} {t.Mfu(t.Median, peak),6:P0} "
                              + $"{t.Median / results[0].Median,20:F3}");
        return 0;
    }

    static int Rollback(string configFile, string[] sets, int repeats, int threads, string workdir)
    {
        if (repeats < 1 || threads < 1) return GlobalOptions.Fail("--repeats and --threads must be at least 1");
        TrainSettings settings;
        try { settings = TrainSettings.Load(configFile, [.. sets, $"run.threads={threads}"]); }
        catch (ConfigException e) { return GlobalOptions.Fail(e.Message); }
        using var data = DataSource.Open(settings.Data, workdir, Console.WriteLine);
        var scratch = Directory.CreateTempSubdirectory("wesar-bench-rollback-").FullName;
        try
        {
            var t = RollbackBenchmark.Run(settings, data, scratch, repeats);
            Console.WriteLine($"bench rollback: {configFile}, {t.Parameters:N0} parameters, {threads} thread(s), {repeats} repeat(s); checkpoint "
                              + $"{t.CheckpointBytes / 1048576.0:F1} MiB on disk (read from the page cache), {t.MemoryBytes / 1048576.0:F1} MiB in memory");
            static double Median(IReadOnlyList<double> s) => s.Order().ElementAt(s.Count / 2);
            Console.WriteLine($"{"",-34} {"min ms",8} {"median ms",10} {"median vs",10}");
            foreach (var (name, times, against, baseline) in new[]
                     {
                         ("training step", t.Step, "", t.Step), ("step measuring update ratios", t.Measured, "step", t.Step),
                         ("copy before a step (spike.replay)", t.Keep, "step", t.Step),
                         ("restore from disk", t.Disk, "", t.Disk), ("restore from memory", t.Memory, "disk", t.Disk),
                     })
                Console.WriteLine($"{name,-34} {times.Min() * 1e3,8:F1} {Median(times) * 1e3,10:F1} "
                                  + (against == "" ? "" : $"{Median(times) / Median(baseline),6:F3} x {against}"));
            return 0;
        }
        finally { Directory.Delete(scratch, recursive: true); }
    }

    static double Bare(TrainSettings settings, string runDir, string workdir)
    {
        using var data = DataSource.Open(settings.Data, workdir);
        return new TrainingRun(settings, runDir).Execute(data, ResumePoint.Fresh, new LocalRunControl(settings.Spike), new Silent(), CancellationToken.None).TokensPerS;
    }

    static async Task<int> Sweep(string configFile, string[] sets, int runs, int steps, int repeats, string workdir)
    {
        if (runs < 2 || steps < 10 || repeats < 1) return GlobalOptions.Fail("--runs must be at least 2, --steps at least 10 and --repeats at least 1");
        var cores = Environment.ProcessorCount;
        // Evaluation only at the end and a checkpoint every 20 steps, on both sides.
        string[] common = [$"train.steps={steps}", "train.eval-interval=0", "checkpoint.interval=20", .. sets];
        TrainSettings checkedSettings;
        try { checkedSettings = TrainSettings.Load(configFile, common); }
        catch (ConfigException e) { return GlobalOptions.Fail(e.Message); }
        using (var _ = DataSource.Open(checkedSettings.Data, workdir, Console.WriteLine)) { }   // tokenized before anything is timed
        var scratch = Directory.CreateTempSubdirectory("wesar-bench-sweep-").FullName;
        try
        {
            var sweepFile = Path.Combine(scratch, "bench.conf");
            File.WriteAllText(sweepFile, $"sweep {{ name = bench, base = {JsonSerializer.Serialize(Path.GetFullPath(configFile))}, "
                                         + $"grid {{ run.seed = [{string.Join(", ", Enumerable.Range(1, runs))}] }} }}");
            (int Slots, int Threads)[] splits = [(cores, 1), (1, cores)];   // the first is the default (orchestrator.slots)
            var bareSettings = splits.Select(split => TrainSettings.Load(configFile, [.. common, $"run.threads={split.Threads}"])).ToList();
            Console.WriteLine($"bench sweep: {configFile}, {runs} runs x {steps} steps, {cores} cores, {repeats} repeat(s); ideal = {runs} x one bare run "
                              + "(same threads) / slots; ratio = ideal / sweep wall time");
            Console.WriteLine($"{"split",-22} {"repeat",6} {"bare run s",11} {"ideal s",8} {"sweep s",8} {"ratio",6}");
            var walls = splits.Select(_ => new List<double>()).ToList();
            for (var i = 1; i <= repeats; i++)
                foreach (var (split, k) in splits.Select((x, k) => (x, k)))
                {
                    var start = System.Diagnostics.Stopwatch.GetTimestamp();
                    Bare(bareSettings[k], Path.Combine(scratch, $"bare-{k}-{i}"), workdir);   // sets its run.threads itself
                    var bare = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
                    var (settings, config) = OrchestratorHost.LoadConfig(null,
                        [$"orchestrator.slots.cpu={split.Slots}", $"orchestrator.slots.cpu-threads={split.Threads}", "akka.loglevel=WARNING"]);
                    start = System.Diagnostics.Stopwatch.GetTimestamp();
                    var finished = await Orchestrated(sweepFile, common, settings, config, Path.Combine(scratch, $"sweep-{k}-{i}"), workdir);
                    var wall = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
                    if (finished.State.Runs.Count(r => r.Result is not null) != runs) throw new InvalidOperationException("a run of the benchmark sweep did not complete");
                    walls[k].Add(wall);
                    var ideal = runs * bare / split.Slots;
                    Console.WriteLine($"{$"{split.Slots} slot(s) x {split.Threads} thread(s)",-22} {i,6} {bare,11:F2} {ideal,8:F2} {wall,8:F2} {ideal / wall,6:F3}");
                }
            static double Median(List<double> s) => s.Order().ElementAt(s.Count / 2);
            var faster = Median(walls[0]) <= Median(walls[1]) ? 0 : 1;
            Console.WriteLine($"faster split: {splits[faster].Slots} slot(s) x {splits[faster].Threads} thread(s), median sweep {Median(walls[faster]):F1} s against "
                              + $"{Median(walls[1 - faster]):F1} s; the default (orchestrator.slots: one per core, 1 thread) is {splits[0].Slots} x 1");
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(scratch, recursive: true);
        }
    }

    static async Task<SweepFinished> Orchestrated(string sweepFile, string[] sets, Actors.OrchestratorSettings settings, Akka.Configuration.Config config,
        string scratch, string workdir)
    {
        var definition = SweepDefinition.Load(sweepFile, sets, 0);
        // The journal lives in the scratch folder; the token cache is shared with the bare side.
        await using var host = OrchestratorHost.Start(settings, config, scratch);
        var data = definition.Runs[0].Settings([]).Data;
        using (var _ = DataSource.Open(data, workdir)) { }
        var linked = Path.Combine(scratch, "data");
        if (!Directory.Exists(linked)) Directory.CreateSymbolicLink(linked, Path.GetFullPath(Path.Combine(workdir, "data")));
        return await host.Coordinator(definition.Id).Ask<SweepFinished>(new Begin(definition), TimeSpan.FromHours(1));
    }

    sealed class Silent : IRunObserver;
}
