using System.CommandLine;
using WeSaR.Model;
using WeSaR.Training.Config;
using WeSaR.Training.Data;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Commands;

/// <summary>
/// `wesar estimate`: what a config needs before it is started: memory per device (the step's peak, <see cref="Footprint"/>),
/// compute per token, and tokens/s on a few GPUs at an assumed MFU. With --measure it runs real steps on this machine's CPU
/// and prints the C heap's high-water mark beside the estimate.
/// </summary>
public static class EstimateCommand
{
    /// <summary>A device to size against: memory in GiB (as nvidia-smi reports it) and dense float32 peak without TF32, from the vendor's data sheet.</summary>
    sealed record Device(string Name, double MemoryGib, double PeakTflops);

    static readonly Device[] Devices = [new("A100 80GB", 80.0, 19.5), new("H100 SXM 80GB", 79.6, 66.9), new("H200 141GB", 139.8, 66.9)];

    /// <summary>Share of a device's memory a step may use: the rest is the CUDA context and the caching allocator's fragmentation.</summary>
    const double Usable = 0.9;

    /// <summary>Largest estimate --measure checks: beyond it single tensors reach 256 MiB, which glibc maps and returns (NativeHeap), so the high-water mark misses them.</summary>
    const long MeasurableBytes = 1L << 30;

    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "HOCON run config, e.g. hocon/presets/130m.conf (defaults: hocon/train.conf)" };
        var set = new Option<string[]>("--set", "-s") { Description = "Override a key, e.g. --set train.batch-size=8 (repeatable)" };
        var mfu = new Option<double>("--mfu") { Description = "Model FLOP utilisation assumed for the tokens/s column (wesar bench step measures yours)", DefaultValueFactory = _ => 0.5 };
        var measure = new Option<int>("--measure")
        {
            Description = "Also train this many steps on this machine's CPU (after one to warm up) and print the C heap's high-water mark beside the estimate; 0: off",
            DefaultValueFactory = _ => 0,
        };
        var cmd = new Command("estimate", "Memory per device and expected tokens/s of a run config, worked out from its shape before it is started")
            { config, set, mfu, measure };
        cmd.SetAction(r => Run(r.GetValue(config), r.GetValue(set) ?? [], r.GetValue(mfu), r.GetValue(measure), r.GetValue(GlobalOptions.Workdir)!));
        return cmd;
    }

    static int Run(string? configFile, string[] overrides, double mfu, int measureSteps, string workdir)
    {
        if (!(mfu > 0 && mfu <= 1)) return GlobalOptions.Fail($"--mfu must be in (0, 1], got {mfu}");
        if (measureSteps < 0) return GlobalOptions.Fail($"--measure must be at least 0, got {measureSteps}");
        TrainSettings s;
        try { s = TrainSettings.Load(configFile, overrides); }
        catch (ConfigException e) { return GlobalOptions.Fail(e.Message); }

        var vocabulary = Tokenizers.Create(s.Data.Tokenizer).VocabSize;
        var shape = s.Model.ToGpt(vocabulary);
        var f = Footprint.Of(shape, s.Init.Scheme, s.Train.BatchSize, zLoss: s.Optim.ZLoss > 0);
        var tokens = (long)s.Train.BatchSize * shape.BlockSize;
        Console.WriteLine($"{configFile ?? "hocon/train.conf"}: {shape.NLayer} layers, d {shape.DModel}, {shape.NHead} heads, block {shape.BlockSize:N0}, "
                          + $"vocabulary {vocabulary:N0} ({s.Data.Tokenizer}), batch {s.Train.BatchSize} ({tokens:N0} tokens a step), scheme {s.Init.Scheme.Name}");
        Console.WriteLine($"parameters {f.Parameters:N0}, {f.NonEmbeddingParameters:N0} of them outside the token and position tables");
        Console.WriteLine("per device, float32, one training step at its peak:");
        Line("weights", f.Weights);
        Line("gradients", f.Gradients);
        Line("AdamW moments", f.Moments);
        if (f.GatedWeights > 0) Line("alpha*W of each gated linear matrix", f.GatedWeights);
        Line("AdamW's denominator (the largest parameter)", f.OptimizerTemporary);
        Line($"activations ({Footprint.BlockFloatsPerTokenWidth + (shape.QkNorm ? Footprint.QkNormFloatsPerTokenWidth : 0)} x d a token and block, {Footprint.BackwardFloatsPerTokenWidth} x d backward)", f.Activations);
        Line(s.Optim.ZLoss > 0 ? "logits, cross-entropy and the z-loss" : "logits and cross-entropy", f.Logits);
        var measured = s.Train.MeasureInterval > 0 || s.Spike.Risk.Enabled;
        var total = f.Total + (s.Spike.Replay ? f.ReplayCopy : 0) + (measured ? f.MeasuredCopy : 0);
        if (s.Spike.Replay) Line("spike.replay's copy of weights and moments", f.ReplayCopy);
        if (measured) Line("update ratios: every matrix before a measured step", f.MeasuredCopy);
        Line("total", total);
        // Dropout's masks, and attention's fallback from the fused kernel to one that keeps T x T probabilities, depend on the kernel chosen.
        if (shape.Dropout > 0)
            Console.Error.WriteLine("warning: not counted: model.dropout's masks and attention probabilities (at the tiny preset they double the peak; check with --measure)");
        if (s.Checkpoint.Memory > 0)
            Console.WriteLine($"host memory: {s.Checkpoint.Memory} checkpoint(s) kept in memory (checkpoint.memory) = {Size(s.Checkpoint.Memory * f.ReplayCopy)}");
        Console.WriteLine($"compute: {f.FlopsPerToken / 1e9:F3} GFLOP per token trained (6 N + 12 L T d)");
        Console.WriteLine($"devices (float32 without TF32, the vendors' peaks; tokens/s at an assumed {mfu:P0} MFU; a step fits in {Usable:P0} of the memory):");
        Console.WriteLine($"  {"device",-15} {"memory",10} {"fits",5} {"tokens/s",10} {"step",9} {"train.steps",13}");
        foreach (var d in Devices)
        {
            var perSecond = mfu * d.PeakTflops * 1e12 / f.FlopsPerToken;
            var step = tokens / perSecond;
            var fits = total <= Holds(d);
            Console.WriteLine($"  {d.Name,-15} {d.MemoryGib,6:F1} GiB {(fits ? "yes" : "no"),5} {perSecond,10:N0} {step,7:F2} s {Duration(step * s.Train.Steps),13}");
        }
        var largest = Devices.Max(Holds);
        var state = f.Weights + f.Gradients + f.Moments;
        if (state > largest)
            Console.WriteLine($"no single device listed holds even the weights and AdamW state ({Size(state)}), and TorchSharp has no model parallelism");
        else if (total > largest)
            Console.WriteLine($"no single device listed holds this step at train.batch-size {s.Train.BatchSize}: activations and logits scale with the batch");
        return measureSteps > 0 ? Measure(s, f, measureSteps, workdir) : 0;
    }

    /// <summary>Real steps on the CPU at run.threads (the coefficients were measured at LibTorch's default): glibc keeps freed
    /// memory (NativeHeap), so the heap's growth over them is their high-water mark, less any free memory from before that they reused.</summary>
    static int Measure(TrainSettings s, Footprint f, int steps, string workdir)
    {
        if (f.Total > MeasurableBytes)
            return GlobalOptions.Fail($"--measure checks steps up to {Size(MeasurableBytes)} (larger tensors are mapped and returned by glibc, "
                                      + $"which the heap figures miss); this one's steps need {Size(f.Total)} before update ratios and spike.replay: "
                                      + "lower train.batch-size or the shape");
        if (NativeHeap.Usage() is null) return GlobalOptions.Fail("--measure reads glibc's heap figures, which this system does not have");
        var onCpu = s with { Run = s.Run with { Device = "cpu" } };
        TokenFile data;
        try { data = DataSource.OpenFor(onCpu, workdir, Console.WriteLine); }
        catch (ConfigException e) { return GlobalOptions.Fail(e.Message); }
        using (data)
        {
            NativeHeap.KeepFreedMemory();
            var before = NativeHeap.Usage()!;
            using var trainer = new Trainer(onCpu, data);
            for (var i = 0; i <= steps; i++) trainer.TrainStep(measure: false);
            var after = NativeHeap.Usage()!;
            var highWater = after.InUse + after.Free - (before.InUse + before.Free);
            if (!NativeHeap.Kept) Console.Error.WriteLine("warning: glibc was not told to keep freed memory (GLIBC_TUNABLES set?): the high-water mark may be low");
            Console.WriteLine($"measured on this CPU over {steps + 1} steps: C heap high-water {Size(highWater)} against the estimate's {Size(f.Total)} "
                              + $"(ratio {highWater / (double)f.Total:F2}; blocks of 256 MiB and more are returned when freed and not counted)");
        }
        return 0;
    }

    /// <summary>Bytes a step may use on a device.</summary>
    static double Holds(Device d) => Usable * d.MemoryGib * (1L << 30);

    static void Line(string what, long bytes) => Console.WriteLine($"  {what,-60} {Size(bytes),10}");

    static string Size(long bytes) => bytes >= 10L << 30 ? $"{bytes / (double)(1L << 30):F1} GiB" : $"{bytes / (double)(1L << 20):N0} MiB";

    static string Duration(double seconds) => seconds >= 86_400 ? $"{seconds / 86_400:F1} days" : seconds >= 3_600 ? $"{seconds / 3_600:F1} h" : $"{seconds / 60:F0} min";
}
