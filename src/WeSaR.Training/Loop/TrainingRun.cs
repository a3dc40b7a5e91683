using System.Diagnostics;
using System.Text.Json;
using WeSaR.Model.Checkpoints;
using WeSaR.Training.Config;
using WeSaR.Training.Data;
using WeSaR.Training.Spikes;

namespace WeSaR.Training.Loop;

/// <summary>What a run reports while it goes; every method is optional.</summary>
public interface IRunObserver
{
    void Message(string text) { }
    void Started(long fromStep, long totalSteps, long parameters) { }
    void Stepped(MetricsLine line, TimeSpan eta) { }
    void Evaluated(EvalResult result) { }
    void Checkpointed(CheckpointInfo info) { }
    void Spiked(SpikeSignal signal) { }
}

/// <summary>The end of an invocation, also written to summary.json. <c>Interrupted</c>: stopped by cancellation (Ctrl-C).</summary>
public sealed record RunSummary(string RunDir, long Step, long TotalSteps, bool Interrupted, double? ValLoss, double? ValPpl,
    double TokensPerS, int Spikes, double WallSeconds, long Parameters)
{
    public bool Finished => Step >= TotalSteps;
}

/// <summary>
/// A whole training run in a folder: resolved config, metrics.jsonl, checkpoints/ and summary.json.
/// Resumes exactly from the newest valid checkpoint; stops cleanly (with a checkpoint) when cancelled.
/// </summary>
public sealed class TrainingRun(TrainSettings settings, string runDir)
{
    public const string ConfigFile = "config.conf", SummaryFile = "summary.json", CheckpointDir = "checkpoints";
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public string RunDir => runDir;

    /// <summary>Checks the folder can be used before anything is written: a used folder needs <paramref name="resume"/>.</summary>
    public void CheckFolder(bool resume)
    {
        var used = File.Exists(Path.Combine(runDir, MetricsLog.FileName)) || Directory.Exists(Path.Combine(runDir, CheckpointDir));
        if (used && !resume)
            throw new ConfigException([$"run folder {runDir} already holds a run: pass --resume to continue it, or choose another run.dir"]);
    }

    public RunSummary Execute(TokenFile data, bool resume, IRunObserver observer, CancellationToken ct)
    {
        CheckFolder(resume);
        Directory.CreateDirectory(runDir);
        File.WriteAllText(Path.Combine(runDir, ConfigFile), ConfigLoader.Render(settings.Source));
        if (settings.Run.Threads > 0) TorchSharp.torch.set_num_threads(settings.Run.Threads);

        var s = settings.Train;
        var store = new CheckpointStore(Path.Combine(runDir, CheckpointDir), settings.Checkpoint.Retention);
        using var trainer = new Trainer(settings, data);
        if (resume && store.LoadLatest(onSkipped: m => observer.Message("skipping damaged checkpoint: " + m)) is { } latest)
        {
            trainer.Restore(latest);
            observer.Message($"resumed from step {latest.Step}");
        }
        using var log = new MetricsLog(Path.Combine(runDir, MetricsLog.FileName), trainer.Step);
        var watch = SpikeWatch.From(settings.Spike);
        observer.Started(trainer.Step, s.Steps, trainer.ParameterCount);

        var wall = Stopwatch.StartNew();
        var stepTime = new Stopwatch();
        long windowTokens = 0, timedTokens = 0;
        double windowSeconds = 0, timedSeconds = 0;
        var firstStep = trainer.Step;
        int spikes = 0;
        EvalResult? lastEval = null;
        var interrupted = false;

        while (trainer.Step < s.EndStep)
        {
            if (ct.IsCancellationRequested) { interrupted = true; break; }
            var measure = s.MeasureInterval > 0 && (trainer.Step + 1) % s.MeasureInterval == 0;
            stepTime.Restart();
            var m = trainer.TrainStep(measure);
            var seconds = stepTime.Elapsed.TotalSeconds;
            windowTokens += (long)s.BatchSize * settings.Model.BlockSize;
            windowSeconds += seconds;
            if (m.Step - firstStep > 3)   // the first steps pay for allocation and warm-up
            {
                timedTokens += (long)s.BatchSize * settings.Model.BlockSize;
                timedSeconds += seconds;
            }

            var spike = watch.Observe(new StreamPoint(m.Step, m.Loss, m.GradNorm));
            if (spike is not null) { spikes++; observer.Spiked(spike); }
            EvalResult? eval = null;
            var last = m.Step == s.Steps;
            if (last || (s.EvalInterval > 0 && m.Step % s.EvalInterval == 0))
            {
                eval = lastEval = trainer.Evaluate();
                observer.Evaluated(eval);
            }
            if (last || measure || eval is not null || spike is not null || m.Step % s.LogInterval == 0)
            {
                var line = new MetricsLine(m.Step, m.Loss, m.GradNorm, m.Lr, m.Tokens, windowTokens / Math.Max(windowSeconds, 1e-9),
                    Environment.WorkingSet / 1048576.0, m.UpdateRatio, m.Gate, eval?.Loss, eval?.Perplexity,
                    spike is null ? null : $"{spike.Rule}:{spike.Metric}");
                log.Write(line);
                var perStep = timedSeconds > 0 ? timedSeconds / Math.Max(1, m.Step - firstStep - 3) : seconds;
                observer.Stepped(line, TimeSpan.FromSeconds(perStep * (s.EndStep - m.Step)));
                (windowTokens, windowSeconds) = (0, 0);
            }
            if (m.Step == s.EndStep || (settings.Checkpoint.Interval > 0 && m.Step % settings.Checkpoint.Interval == 0))
                SaveCheckpoint(trainer, store, observer);
        }
        if (interrupted && trainer.Step > firstStep) SaveCheckpoint(trainer, store, observer);

        var summary = new RunSummary(runDir, trainer.Step, s.Steps, interrupted, lastEval?.Loss, lastEval?.Perplexity,
            timedSeconds > 0 ? timedTokens / timedSeconds : 0, spikes, wall.Elapsed.TotalSeconds, trainer.ParameterCount);
        File.WriteAllBytes(Path.Combine(runDir, SummaryFile), JsonSerializer.SerializeToUtf8Bytes(summary, Json));
        return summary;
    }

    static void SaveCheckpoint(Trainer trainer, CheckpointStore store, IRunObserver observer) =>
        observer.Checkpointed(store.Save(trainer.Capture()));
}
