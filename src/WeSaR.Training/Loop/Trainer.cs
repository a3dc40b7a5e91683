using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using WeSaR.Model;
using WeSaR.Model.Checkpoints;
using WeSaR.Training.Config;
using WeSaR.Training.Data;
using static TorchSharp.torch;

namespace WeSaR.Training.Loop;

/// <summary>Where a run stands between steps; saved with every checkpoint. <c>ZClip</c>: null in checkpoints from before it.
/// <c>Rewarm</c>: the step the moments were last reset at and the re-warm-up's length (null: never reset).</summary>
public sealed record TrainerState(long Step, long DataPosition, long Tokens, double LrFactor, long Seed, string Scheme, GptConfig Model,
    ZClipState? ZClip = null, Rewarm? Rewarm = null);

/// <summary>A re-warm-up of the learning rate after the optimizer moments were reset at step <c>From</c>.</summary>
public sealed record Rewarm(long From, long Steps);

/// <summary>
/// A trainer's state held in memory: its tensors (in host memory, or on the run's device) and the rest as in a
/// checkpoint. Made by <see cref="Trainer.Keep"/> and put back in place by <see cref="Trainer.Restore(MemoryState)"/>.
/// </summary>
public sealed class MemoryState(bool host) : IDisposable
{
    internal TensorSnapshot Tensors { get; } = new(host);

    internal TrainerState? Trainer { get; set; }

    public long Step => Trainer?.Step ?? throw new InvalidOperationException("nothing kept yet");

    public long Bytes => Tensors.Bytes;

    public void Dispose() => Tensors.Dispose();
}

/// <summary>
/// One model, its optimizer and its data, advanced one step at a time. The caller decides when to evaluate,
/// checkpoint, roll back, skip data or scale the learning rate; this class only makes each of those exact.
/// Every step runs in its own dispose scope, so native memory stays flat however long the run.
/// </summary>
public sealed class Trainer : IDisposable
{
    public const string ModelFile = "model.dat", OptimizerFile = "optimizer.dat", StateFile = "trainer.json";
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    readonly TrainSettings settings;
    readonly GptConfig config;
    readonly BatchSampler train, val;
    Gpt model;
    AdamW optimizer;
    List<Parameter> parameters;
    // faults.leak-kib-per-step: tensors kept on purpose, freed only with the trainer.
    readonly List<Tensor> leaked = [];

    public Device Device { get; }

    public long Step { get; private set; }

    /// <summary>Index of the next training batch; runs ahead of <see cref="Step"/> once batches are skipped.</summary>
    public long DataPosition { get; private set; }

    public long Tokens { get; private set; }

    /// <summary>Multiplies the scheduled learning rate: the product of every rollback's <c>LrScale</c> (one rollback's multiplier) so far.</summary>
    public double LrFactor { get; set; } = 1.0;

    /// <summary>Multiplies the learning rate while the spike risk is raised (spike.risk.lr-scale); set by the run before each step.</summary>
    public double RiskLrScale { get; set; } = 1.0;

    ZClipState zclip = ZClipState.Fresh;
    Rewarm? rewarm;
    // faults.transient-steps already run once by this trainer: the fault strikes a step's first run only.
    readonly HashSet<long> struck = [];

    public Gpt Model => model;

    public Trainer(TrainSettings settings, TokenFile data)
    {
        this.settings = settings;
        NativeHeap.KeepFreedMemory();
        // LibTorch applies it to the calling thread and to threads that start later: each trainer is built and stepped on one thread.
        if (settings.Run.Threads > 0) set_num_threads(settings.Run.Threads);
        Device = ResolveDevice(settings.Run.Device);
        config = settings.Model.ToGpt(data.Header.VocabSize);
        var seed = (ulong)settings.Run.Seed;
        train = new BatchSampler(data, Split.Train, settings.Train.BatchSize, config.BlockSize, seed);
        val = new BatchSampler(data, Split.Val, settings.Train.BatchSize, config.BlockSize, seed ^ 0x5EED_0F_7A11);
        (model, optimizer, parameters) = Build(null);
    }

    public static Device ResolveDevice(string name)
    {
        if (name.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (!cuda.is_available()) throw new InvalidOperationException($"run.device is {name} but CUDA is not available (build with -p:TorchDevice=cuda on a machine with an NVIDIA driver)");
            var device = torch.device(name);
            if (device.index >= cuda.device_count()) throw new InvalidOperationException($"run.device is {name} but only {cuda.device_count()} CUDA device(s) exist");
            return device;
        }
        return CPU;
    }

    /// <summary>Fresh model from the seed (weights overwritten by <paramref name="from"/> if given), moved to the device, then its optimizer.</summary>
    (Gpt, AdamW, List<Parameter>) Build(Checkpoint? from)
    {
        var m = Gpt.Seeded(config, settings.Init.Scheme, settings.Run.Seed);
        if (from is not null) StateBytes.Load(m, from.File(ModelFile));   // load while on the CPU (see StateBytes)
        m.to(Device);
        var opt = Optim.AdamW(m, settings.Optim.AdamW);
        if (from is not null) StateBytes.Load(opt, from.File(OptimizerFile));
        return (m, opt, m.parameters().Where(p => p.requires_grad).ToList());
    }

    /// <remarks>
    /// Only dropout draws from the default generator during a step, so only then is it seeded (per step, making every
    /// draw a function of (seed, step) on CPU and CUDA alike) and held: a step that reseeded it without the lock would
    /// change the initial weights another run in the process is drawing.
    /// </remarks>
    public StepMetrics TrainStep(bool measure)
    {
        if (config.Dropout == 0) return Advance(measure);
        lock (Gpt.DefaultGenerator)
        {
            var stepSeed = (long)BatchSampler.Mix((ulong)settings.Run.Seed, (ulong)Step, 0x0D120);
            manual_seed(stepSeed);
            if (Device.type == DeviceType.CUDA) cuda.manual_seed_all(stepSeed);
            return Advance(measure);
        }
    }

    StepMetrics Advance(bool measure)
    {
        using var scope = NewDisposeScope();
        var o = settings.Optim;
        var lr = LrSchedule.At(Step, o.AdamW.Lr, o.WarmupSteps, settings.Train.Steps, o.MinLrRatio) * LrFactor * RiskLrScale * Rewarming();
        Optim.SetLearningRate(optimizer, lr);

        var (x, y) = train.Batch(DataPosition, Device);
        var before = measure ? model.Matrices().Select(m => m.Matrix.EffectiveWeight()).ToList() : null;
        model.train();
        optimizer.zero_grad();
        var logits = Logits(x);
        var loss = nn.functional.cross_entropy(logits, y.reshape(-1));
        if (settings.Faults.PoisonBatches.Contains(DataPosition) || (settings.Faults.TransientSteps.Contains(Step + 1) && struck.Add(Step + 1)))
        {
            using Scalar poison = settings.Faults.PoisonScale;   // held until the op returns (see Optim.Step)
            loss = loss.mul(poison);
        }
        ZLoss.Objective(loss, logits, o.ZLoss).backward();
        // An infinite bound measures the norm without clipping.
        var fixedBound = o.GradClip > 0 ? o.GradClip : double.PositiveInfinity;
        var gradNorm = nn.utils.clip_grad_norm_(parameters, o.ZClip.Enabled ? double.PositiveInfinity : fixedBound);
        if (o.ZClip.Enabled) ClipAdaptively(gradNorm, fixedBound);
        Optim.Step(optimizer);

        if (settings.Faults.LeakKibPerStep > 0) leaked.Add(ones(settings.Faults.LeakKibPerStep * 256L).DetachFromDisposeScope());

        Step++;
        DataPosition++;
        Tokens += (long)train.BatchSize * train.SeqLen;
        var metrics = new StepMetrics(Step, loss.item<float>(), gradNorm, lr, Tokens);
        return before is null ? metrics : metrics with { UpdateRatio = UpdateRatios(before), Gate = Gates(), LiveTensors = LiveTensorsAfterScope(scope) };
    }

    /// <summary>The re-warm-up's factor on the learning rate: (steps since the reset + 1) / its length, up to 1.</summary>
    double Rewarming() => rewarm is { } r && r.Steps > 0 ? Math.Min(1.0, (Step - r.From + 1) / (double)r.Steps) : 1.0;

    /// <summary>
    /// Zeroes AdamW's moments and step counts (a fresh Adam's bias correction) and warms the learning rate up again
    /// over <paramref name="rewarmSteps"/>, from this step.
    /// </summary>
    public void ResetMoments(long rewarmSteps)
    {
        using var _ = no_grad();
        foreach (var s in optimizer.state_dict().State.Cast<AdamW.State>())
        {
            s.exp_avg.zero_();
            s.exp_avg_sq.zero_();
            s.step = 0;
        }
        rewarm = new Rewarm(Step, rewarmSteps);
    }

    /// <summary>ZClip's bound, or the fixed one if lower, applied as clip_grad_norm_ would (the same coefficient).</summary>
    void ClipAdaptively(double gradNorm, double fixedBound)
    {
        (var bound, zclip) = zclip.Step(gradNorm, settings.Optim.ZClip);
        var limit = Math.Min(bound ?? double.PositiveInfinity, fixedBound);
        if (gradNorm <= limit) return;
        using var _ = no_grad();
        using Scalar coefficient = limit / (gradNorm + 1e-6);
        foreach (var p in parameters) p.grad?.mul_(coefficient);
    }

    /// <summary>Mean validation loss over the configured number of fixed batches.</summary>
    public EvalResult Evaluate()
    {
        using var _ = no_grad();
        model.eval();
        var losses = Enumerable.Range(0, settings.Train.EvalBatches).Select(i =>
        {
            using var scope = NewDisposeScope();   // one per batch: a scope keeps every intermediate until it ends
            var (x, y) = val.Batch(i, Device);
            return (double)Loss(x, y).item<float>();
        }).ToList();
        return new EvalResult(Step, losses.Average());
    }

    /// <summary>Skips the next <paramref name="count"/> training batches (the data behind a spike).</summary>
    public void SkipBatches(long count) => DataPosition += count;

    public Checkpoint Capture() => new(Step, new Dictionary<string, byte[]>
    {
        [ModelFile] = StateBytes.Save(model),
        [OptimizerFile] = StateBytes.Save(optimizer),
        [StateFile] = JsonSerializer.SerializeToUtf8Bytes(CurrentState(), Json),
    });

    /// <summary>
    /// Returns to a checkpoint exactly: weights, optimizer moments, step, data position and LR factor;
    /// <c>null</c> returns to the initialisation.
    /// </summary>
    public void Restore(Checkpoint? c)
    {
        var state = c is null ? new TrainerState(0, 0, 0, 1.0, settings.Run.Seed, settings.Init.Scheme.Name, config)
            : State(c);
        if (state.Model != config || state.Scheme != settings.Init.Scheme.Name)
            throw new InvalidDataException($"checkpoint at step {state.Step} is for {state.Scheme} {state.Model}, not {settings.Init.Scheme.Name} {config}");
        var (m, opt, ps) = Build(c);
        optimizer.Dispose();
        model.Dispose();
        (model, optimizer, parameters) = (m, opt, ps);
        Resume(state);
    }

    /// <summary>Copies the whole state into <paramref name="into"/> (its buffers reused when it held one before).</summary>
    public void Keep(MemoryState into)
    {
        into.Tensors.Take(model, optimizer);
        into.Trainer = CurrentState();
    }

    /// <summary>Returns to a state kept in memory exactly, in place: no model or optimizer is rebuilt.</summary>
    public void Restore(MemoryState from)
    {
        var state = from.Trainer ?? throw new InvalidOperationException("nothing kept yet");
        from.Tensors.Restore(model, optimizer);
        Resume(state);
    }

    void Resume(TrainerState state) =>
        (Step, DataPosition, Tokens, LrFactor, zclip, rewarm) = (state.Step, state.DataPosition, state.Tokens, state.LrFactor, state.ZClip ?? ZClipState.Fresh, state.Rewarm);

    TrainerState CurrentState() => new(Step, DataPosition, Tokens, LrFactor, settings.Run.Seed, settings.Init.Scheme.Name, config, zclip, rewarm);

    /// <summary>The trainer state saved in a checkpoint.</summary>
    public static TrainerState State(Checkpoint c) => JsonSerializer.Deserialize<TrainerState>(c.File(StateFile), Json)!;

    Tensor Logits(Tensor x) => model.call(x).view(-1, config.VocabSize);

    Tensor Loss(Tensor x, Tensor y) => nn.functional.cross_entropy(Logits(x), y.reshape(-1));

    Dictionary<string, double> UpdateRatios(List<Tensor> before)
    {
        // One matrix at a time, so a measured step holds one copy of the matrices (before) and not three.
        return model.Matrices().Select((m, i) =>
        {
            using var scope = NewDisposeScope();
            return (m.Name, ratio: (double)(m.Matrix.EffectiveWeight().sub_(before[i]).norm() / before[i].norm()).item<float>());
        }).ToDictionary(x => x.Name, x => x.ratio);
    }

    Dictionary<string, double> Gates() =>
        model.Matrices().Where(m => m.Matrix.Gate is not null).ToDictionary(m => m.Name, m => (double)m.Matrix.Gate!.item<float>());

    /// <summary>
    /// Native tensors alive on this thread once the step's scope ends: a deterministic leak signal (a run's trainer
    /// steps on one thread, so other runs in the process do not count).
    /// </summary>
    static long LiveTensorsAfterScope(DisposeScope scope) =>
        DisposeScopeManager.Statistics.ThreadTotalLiveCount - scope.DisposablesCount;

    public long ParameterCount => model.parameters().Sum(p => p.numel());

    public void Dispose()
    {
        foreach (var t in leaked) t.Dispose();
        optimizer.Dispose();
        model.Dispose();
    }
}
