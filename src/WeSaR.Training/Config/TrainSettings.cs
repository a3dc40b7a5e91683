using WeSaR.Model;
using WeSaR.Model.Checkpoints;
using WeSaR.Model.Init;
using WeSaR.Training.Spikes;

namespace WeSaR.Training.Config;

/// <summary>run.*: where the run lives and what it runs on.</summary>
public sealed record RunSettings(string Dir, string Name, long Seed, string Device, int Threads, bool TensorBoard)
{
    public static RunSettings From(ConfigReader r)
    {
        var device = r.String("run.device");
        if (!(device == "cpu" || System.Text.RegularExpressions.Regex.IsMatch(device, @"^cuda(:\d+)?$")))
            r.Problem($"run.device must be \"cpu\" or \"cuda:N\", got '{device}'");
        return new(r.String("run.dir"), r.String("run.name"), r.Long("run.seed"), device, r.Int("run.threads", 0), r.Bool("run.tensorboard"));
    }
}

/// <summary>data.*: the corpus.</summary>
public sealed record DataSettings(string Path, string Tokenizer, double ValFraction)
{
    public static DataSettings From(ConfigReader r)
    {
        var path = r.String("data.path");
        if (path.Length == 0) r.Problem("data.path is empty: give a text file or a prepared token file (--set data.path=...)");
        var tokenizer = r.String("data.tokenizer");
        if (!Data.Tokenizers.Names.Contains(tokenizer))
            r.Problem($"data.tokenizer must be one of {string.Join(", ", Data.Tokenizers.Names)}, got '{tokenizer}'");
        var val = r.Double("data.val-fraction", positive: true);
        if (val >= 0.5) r.Problem($"data.val-fraction must be below 0.5, got {val}");
        return new(path, tokenizer, val);
    }
}

/// <summary>model.*: the decoder's shape (the vocabulary comes from the data).</summary>
public sealed record ModelSettings(int NLayer, int NHead, int DModel, int BlockSize, double Dropout, bool QkNorm = false)
{
    public static ModelSettings From(ConfigReader r)
    {
        var s = new ModelSettings(r.Int("model.n-layer", 1), r.Int("model.n-head", 1), r.Int("model.d-model", 1),
            r.Int("model.block-size", 2), r.Double("model.dropout", 0), r.Bool("model.qk-norm"));
        if (s.NHead > 0 && s.DModel % s.NHead != 0) r.Problem($"model.d-model ({s.DModel}) must be divisible by model.n-head ({s.NHead})");
        if (s.Dropout >= 1) r.Problem($"model.dropout must be below 1, got {s.Dropout}");
        return s;
    }

    public GptConfig ToGpt(int vocabSize) => new(vocabSize, BlockSize, NLayer, NHead, DModel, Dropout, QkNorm);
}

/// <summary>init.*: the initialisation scheme, parsed and checked.</summary>
public sealed record InitSettings(InitScheme Scheme)
{
    /// <summary>The value of init.sigma2 that picks sigma² = 1 / d-model (docs/init-schemes.md, "The common variance").</summary>
    public const string AutoSigma2 = "auto";

    public static InitSettings From(ConfigReader r)
    {
        var sigma2 = r.String("init.sigma2") == AutoSigma2 ? 1.0 / Math.Max(1, r.Int("model.d-model", 1)) : r.Double("init.sigma2", positive: true);
        try { return new(InitScheme.Parse(r.String("init.scheme"), sigma2 > 0 ? sigma2 : InitScheme.DefaultSigma2)); }
        catch (ArgumentException e)
        {
            r.Problem("init.scheme: " + e.Message);
            return new(InitScheme.Parse("he"));
        }
    }
}

/// <summary>optim.*: AdamW, the warm-up + cosine schedule, clipping and the z-loss weight.</summary>
public sealed record OptimSettings(AdamWOptions AdamW, double MinLrRatio, long WarmupSteps, double GradClip, double ZLoss, Loop.ZClipSettings ZClip)
{
    public static OptimSettings From(ConfigReader r) => new(
        new AdamWOptions(r.Double("optim.lr", positive: true), r.Double("optim.beta1", 0), r.Double("optim.beta2", 0),
            r.Double("optim.eps", positive: true), r.Double("optim.weight-decay", 0)),
        r.Double("optim.min-lr-ratio", 0), r.Long("optim.warmup-steps", 0), r.Double("optim.grad-clip", 0), r.Double("optim.z-loss", 0),
        Loop.ZClipSettings.From(r));
}

/// <summary>train.*: the loop's length, batch and cadences.</summary>
public sealed record LoopSettings(long Steps, long StopAt, int BatchSize, long LogInterval, long EvalInterval, int EvalBatches, long MeasureInterval)
{
    public static LoopSettings From(ConfigReader r) => new(r.Long("train.steps", 1), r.Long("train.stop-at", 0), r.Int("train.batch-size", 1),
        r.Long("train.log-interval", 1), r.Long("train.eval-interval", 0), r.Int("train.eval-batches", 1), r.Long("train.measure-interval", 0));

    /// <summary>The step this invocation ends at.</summary>
    public long EndStep => StopAt > 0 ? Math.Min(StopAt, Steps) : Steps;
}

/// <summary>checkpoint.*: cadence and retention.</summary>
/// <param name="Memory">How many of the newest checkpoints are also kept in memory, for rollbacks without disk.</param>
public sealed record CheckpointSettings(long Interval, Retention Retention, int Memory)
{
    public static CheckpointSettings From(ConfigReader r) => new(r.Long("checkpoint.interval", 0),
        new Retention(r.Int("checkpoint.keep-last", 1), r.Long("checkpoint.keep-every", 0)), r.Int("checkpoint.memory", 0));
}

/// <summary>Everything one training run needs, validated as a whole.</summary>
public sealed record TrainSettings(RunSettings Run, DataSettings Data, ModelSettings Model, InitSettings Init,
    OptimSettings Optim, LoopSettings Train, CheckpointSettings Checkpoint, SpikeSettings Spike, FaultSettings Faults, Akka.Configuration.Config Source)
{
    /// <summary>Settings that are valid but probably not meant; the commands print them and go on.</summary>
    public IReadOnlyList<string> Warnings() => Optim.WarmupSteps > Train.Steps
        ? [$"optim.warmup-steps ({Optim.WarmupSteps}) is longer than train.steps ({Train.Steps}): the learning rate never reaches optim.lr"]
        : [];

    /// <summary>Reads and checks every section; throws <see cref="ConfigException"/> listing all problems, the reader's earlier ones first.</summary>
    public static TrainSettings From(ConfigReader r)
    {
        var s = new TrainSettings(RunSettings.From(r), DataSettings.From(r), ModelSettings.From(r), InitSettings.From(r),
            OptimSettings.From(r), LoopSettings.From(r), CheckpointSettings.From(r), SpikeSettings.From(r), FaultSettings.From(r), r.Config);
        r.ThrowIfInvalid();
        return s;
    }

    public static TrainSettings Load(string? file, IEnumerable<string> overrides) => From(ConfigLoader.Load(file, overrides));
}
