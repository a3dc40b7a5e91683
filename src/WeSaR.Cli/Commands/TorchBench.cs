using System.Diagnostics;
using System.Text.Json;
using WeSaR.Model;
using WeSaR.Model.Export;
using WeSaR.Model.Init;
using WeSaR.Training.Config;
using WeSaR.Training.Data;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Commands;

/// <summary>
/// `wesar bench torch`: the training step of <see cref="StepBenchmark"/> against the same step in PyTorch
/// (docs/python/bench_step.py, embedded in this assembly) on the same model, initial weights, shapes and threads,
/// alternating .NET and PyTorch per scheme and repeat. Pin it with taskset: the Python process inherits the cores.
/// PyTorch gets OMP_WAIT_POLICY=PASSIVE unless the caller set it (see <see cref="Python"/>).
/// </summary>
public static class TorchBench
{
    const int Warmup = 3;

    public static int Run(string configFile, string[] sets, string[] schemes, int steps, int repeats, int threads, string? python, string workdir)
    {
        if (steps < 1 || repeats < 1 || threads < 1 || schemes.Length == 0)
            return GlobalOptions.Fail("--steps, --repeats and --threads must be at least 1, and name at least one --scheme");
        List<TrainSettings> settings;
        try { settings = schemes.Select(s => TrainSettings.Load(configFile, [.. sets, $"init.scheme={JsonSerializer.Serialize(s)}", $"run.threads={threads}"])).ToList(); }
        catch (ConfigException e) { return GlobalOptions.Fail(e.Message); }
        var interpreter = python ?? (File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
        using var data = DataSource.Open(settings[0].Data, workdir, Console.WriteLine);
        TorchSharp.torch.set_num_threads(threads);
        NativeHeap.KeepFreedMemory();   // as a trainer does, before the first tensor
        var scratch = Directory.CreateTempSubdirectory("wesar-bench-torch-").FullName;
        try
        {
            var script = WriteScripts(scratch);
            var folders = settings.Select((s, i) => Prepare(s, data, Path.Combine(scratch, $"scheme-{i}"), steps, threads)).ToList();
            var peak = StepBenchmark.SgemmPeak();
            var dotnet = new StepTimes[settings.Count];   // every repeat's .NET steps, then the PyTorch ones in the same shape
            var torch = schemes.Select(_ => new List<double>()).ToList();
            JsonElement? lastTorch = null;
            for (var r = 0; r < repeats; r++)
                for (var i = 0; i < settings.Count; i++)
                {
                    var t = StepBenchmark.Run([settings[i]], data, steps, 1).Single();
                    dotnet[i] = dotnet[i] is { } before ? t with { Seconds = [.. before.Seconds, .. t.Seconds] } : t;
                    var (code, stdout, stderr) = Python(interpreter, script, folders[i]);
                    if (code != 0) return GlobalOptions.Fail(code == 3 ? stderr.Trim() : $"{interpreter} {script} failed (exit {code}): {stderr.Trim()}", code == 3 ? GlobalOptions.BadInput : GlobalOptions.Failed);
                    var report = JsonDocument.Parse(stdout).RootElement;
                    torch[i].AddRange(report.GetProperty("seconds").EnumerateArray().Select(x => x.GetDouble()));
                    lastTorch = report;
                }
            var torchPeak = lastTorch!.Value.GetProperty("sgemm_flops").GetDouble();
            Console.WriteLine($"bench torch: {configFile}, {steps} steps x {repeats} repeat(s) per scheme and side, {threads} thread(s), alternating; "
                              + $"PyTorch {lastTorch.Value.GetProperty("torch").GetString()} with {lastTorch.Value.GetProperty("blas").GetString()}");
            Console.WriteLine($"sgemm 2048³ peak: .NET (LibTorch) {peak / 1e9:F1} GFLOP/s, PyTorch {torchPeak / 1e9:F1} GFLOP/s; MFU of each side is against its own peak");
            Console.WriteLine($"{"scheme",-22} {".NET min ms",12} {"median ms",10} {"MFU",6} {"PyTorch min ms",15} {"median ms",10} {"MFU",6} {".NET/PyTorch median",20} {"min",6}");
            for (var i = 0; i < settings.Count; i++)
            {
                var (n, p) = (dotnet[i], dotnet[i] with { Seconds = torch[i] });
                Console.WriteLine($"{n.Scheme,-22} {n.Min * 1e3,12:F1} {n.Median * 1e3,10:F1} {n.Mfu(n.Median, peak),6:P0} {p.Min * 1e3,15:F1} {p.Median * 1e3,10:F1} "
                                  + $"{p.Mfu(p.Median, torchPeak),6:P0} {n.Median / p.Median,20:F3} {n.Min / p.Min,6:F3}");
            }
            Console.WriteLine("target: .NET/PyTorch median at most 0.900 (issue 13)");
            return 0;
        }
        finally { Directory.Delete(scratch, recursive: true); }
    }

    /// <summary>wesar_gpt.py and bench_step.py side by side in <paramref name="dir"/>; returns the script's path.</summary>
    static string WriteScripts(string dir)
    {
        var assembly = typeof(TorchBench).Assembly;
        foreach (var name in new[] { "wesar_gpt.py", "bench_step.py" })
        {
            using var resource = assembly.GetManifestResourceStream($"python/{name}") ?? throw new InvalidOperationException($"python/{name} is not embedded");
            using var file = File.Create(Path.Combine(dir, name));
            resource.CopyTo(file);
        }
        return Path.Combine(dir, "bench_step.py");
    }

    /// <summary>The run's initial weights as an export with gates kept, and bench.json with the step's set-up.</summary>
    static string Prepare(TrainSettings s, TokenFile data, string dir, int steps, int threads)
    {
        using var model = Gpt.Seeded(s.Model.ToGpt(data.Header.VocabSize), s.Init.Scheme, s.Run.Seed);
        ModelExport.Write(dir, model, GateMode.Keep, s.Data.Tokenizer, 0);
        var a = s.Optim.AdamW;
        File.WriteAllText(Path.Combine(dir, "bench.json"), JsonSerializer.Serialize(new
        {
            batch_size = s.Train.BatchSize, steps, warmup = Warmup, threads, lr = a.Lr, beta1 = a.Beta1, beta2 = a.Beta2, eps = a.Eps,
            weight_decay = a.WeightDecay, grad_clip = s.Optim.GradClip, frozen_gates = s.Init.Scheme.Reparam == Reparam.Frozen,
        }));
        return dir;
    }

    static (int Code, string Stdout, string Stderr) Python(string interpreter, string script, string folder)
    {
        var psi = new ProcessStartInfo(interpreter) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(folder);
        // Debian's torch runs OpenMP beside OpenBLAS's own pthreads: with more than one thread, OpenMP's spinning workers
        // take the cores OpenBLAS needs (2 threads on 2 cores: 1,157 ms a tiny step, 407 ms with passive waits, 528 ms on 1 thread).
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null) psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            var err = stderr.Result;
            // No torch: say how to get it rather than print a traceback.
            if (p.ExitCode != 0 && err.Contains("No module named 'torch'"))
                return (3, stdout.Result, $"{interpreter} cannot import torch: install Debian's python3-torch and libopenblas0-pthread (apt-get install python3-torch libopenblas0-pthread), or name another interpreter with --python");
            return (p.ExitCode, stdout.Result, err);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (3, "", $"no Python interpreter '{interpreter}': install python3 and python3-torch, or name one with --python");
        }
    }
}
