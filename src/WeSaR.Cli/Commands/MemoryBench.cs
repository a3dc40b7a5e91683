using WeSaR.Model;
using WeSaR.Training.Config;
using WeSaR.Training.Data;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar bench memory`: see <see cref="MemoryBenchmark"/>; this prints its progress rows and the breakdown.</summary>
public static class MemoryBench
{
    public static int Run(string configFile, string[] sets, int steps, int threads, int rows, string workdir, CancellationToken ct)
    {
        if (steps < 10 || threads < 1 || rows < 1) return GlobalOptions.Fail("--steps must be at least 10, --threads and --rows at least 1");
        TrainSettings settings;
        try { settings = TrainSettings.Load(configFile, [.. sets, $"train.steps={steps}", $"run.threads={threads}"]); }
        catch (ConfigException e) { return GlobalOptions.Fail(e.Message); }
        using var data = DataSource.Open(settings.Data, workdir, Console.WriteLine);
        var scratch = Directory.CreateTempSubdirectory("wesar-bench-memory-").FullName;
        try
        {
            Console.WriteLine($"bench memory: {configFile}, {steps} steps, {threads} thread(s), evaluation every {settings.Train.EvalInterval} and a checkpoint "
                              + $"every {settings.Checkpoint.Interval} steps; MiB; native = glibc's C heap (LibTorch's tensors), free = freed and kept by glibc");
            Console.WriteLine($"{"step",7} {"RSS",7} {"anon",7} {"file",7} {"native",7} {"free",7} {"managed",8} {"other",7} {"eta",9}");
            var every = Math.Max(1, steps / rows);
            var report = MemoryBenchmark.Run(settings, data, scratch, (step, m, eta) =>
            {
                if (step % every == 0 || step == 1) Console.WriteLine($"{step,7} {Row(m)} {eta,9:hh\\:mm\\:ss}");
            }, ct);
            Console.WriteLine($"{"before",7} {Row(report.Before)}");
            Console.WriteLine($"{"after",7} {Row(report.After)}   (the run's tensors freed)");
            Console.WriteLine($"{"trimmed",7} {Row(report.Trimmed)}   (malloc_trim: free heap handed back)");
            var last = report.Last;
            Console.WriteLine($"at step {report.Samples[^1].Step}: RSS {last.RssMb:F0} MiB = {last.FileMb:F0} file-backed or shared (libraries, JIT code) + {last.AnonMb:F0} anonymous: "
                              + $"C heap {Mb(last.NativeInUseMb)} in use (training state of {report.Summary.Parameters:N0} parameters: "
                              + $"{report.TrainingStateMb:F1}) and {Mb(last.NativeFreeMb)} free, kept for the next step "
                              + $"({(NativeHeap.Kept ? "glibc told to keep it" : "glibc defaults")}), GC heap {last.ManagedMb:F0}, other {Mb(last.OtherAnonMb)}");
            Console.WriteLine($"the run's heap peak held for reuse: RSS fell {report.After.RssMb - report.Trimmed.RssMb:F0} MiB when it was handed back");
            Console.WriteLine($"memory trend {report.Trend}: {(report.Trend.Leaks ? "GROWS" : "flat")}");
            return report.Trend.Leaks ? 1 : 0;
        }
        finally { Directory.Delete(scratch, recursive: true); }
    }

    static string Row(MemorySample m) =>
        $"{m.RssMb,7:F0} {m.AnonMb,7:F0} {m.FileMb,7:F0} {Mb(m.NativeInUseMb),7} {Mb(m.NativeFreeMb),7} {m.ManagedMb,8:F0} {Mb(m.OtherAnonMb),7}";

    static string Mb(double? v) => v is { } x ? x.ToString("F0") : "-";
}
