using WeSaR.Model;
using WeSaR.Training.Config;
using WeSaR.Training.Data;

namespace WeSaR.Training.Loop;

/// <summary>
/// Where the process's resident memory is, in MiB: RSS split by the kernel into anonymous pages and file-backed or
/// shared ones (mapped libraries: libtorch_cpu alone is over 100 MiB once touched; the runtime's JIT code is in shared
/// memory), the GC's committed heap, and glibc's account
/// of the C heap, which holds LibTorch's tensors and the freed blocks glibc keeps for the next step (see NativeHeap).
/// </summary>
public sealed record MemorySample(double RssMb, double AnonMb, double FileMb, double ManagedMb, double? NativeInUseMb, double? NativeFreeMb)
{
    const double Mb = 1048576.0;

    /// <summary>Anonymous memory the two heaps do not account for (runtime, JIT code, thread stacks, OpenMP), taking every free
    /// heap byte as resident; null where that cannot be so (after a trim glibc keeps free blocks it has handed back).</summary>
    public double? OtherAnonMb => NativeInUseMb is { } used && NativeFreeMb is { } free && AnonMb - used - free - ManagedMb is var other && other >= 0
        ? other : null;

    public static MemorySample Take()
    {
        var heap = NativeHeap.Usage();
        var managed = GC.GetGCMemoryInfo().TotalCommittedBytes / Mb;
        if (!OperatingSystem.IsLinux()) return new(Environment.WorkingSet / Mb, double.NaN, double.NaN, managed, null, null);
        var status = File.ReadLines("/proc/self/status").Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1].Trim());
        double Kb(string key) => status.TryGetValue(key, out var v) ? long.Parse(v.Split(' ')[0]) / 1024.0 : double.NaN;
        return new(Kb("VmRSS"), Kb("RssAnon"), Kb("RssFile") + Kb("RssShmem"), managed, heap?.InUse / Mb, heap?.Free / Mb);
    }
}

/// <summary>What `wesar bench memory` found: samples at logged steps, the memory before the run, after it (the trainer's
/// tensors freed) and after handing the C heap's free memory back, and whether memory grew once warmed up.</summary>
public sealed record MemoryReport(MemorySample Before, IReadOnlyList<(long Step, MemorySample Sample)> Samples, MemorySample After,
    MemorySample Trimmed, MemoryTrend Trend, RunSummary Summary)
{
    /// <summary>Weights, gradients and AdamW's two moments, float32: what the model itself needs to train.</summary>
    public double TrainingStateMb => Summary.Parameters * 16 / 1048576.0;

    public MemorySample Last => Samples[^1].Sample;
}

/// <summary>
/// `wesar bench memory`: a bare training run with the config's evaluation and checkpoints, sampling memory at every
/// logged step, then the leak verdict of <see cref="MemoryTrend"/> over its metrics.jsonl.
/// </summary>
public static class MemoryBenchmark
{
    public static MemoryReport Run(TrainSettings settings, TokenFile data, string runDir, Action<long, MemorySample, TimeSpan> sampled, CancellationToken ct)
    {
        var before = MemorySample.Take();
        var observer = new Sampler(sampled);
        var summary = new TrainingRun(settings, runDir).Execute(data, ResumePoint.Fresh, new LocalRunControl(settings.Spike), observer, ct);
        var after = MemorySample.Take();
        NativeHeap.Trim();
        var trimmed = MemorySample.Take();
        var trend = MemoryTrend.Of(MetricsLog.Read(Path.Combine(runDir, MetricsLog.FileName)));
        return new MemoryReport(before, observer.Samples, after, trimmed, trend, summary);
    }

    sealed class Sampler(Action<long, MemorySample, TimeSpan> sampled) : IRunObserver
    {
        public List<(long Step, MemorySample Sample)> Samples { get; } = [];

        public void Stepped(MetricsLine line, TimeSpan eta)
        {
            var sample = MemorySample.Take();
            Samples.Add((line.Step, sample));
            sampled(line.Step, sample, eta);
        }
    }
}
