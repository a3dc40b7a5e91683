using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
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
    void RiskChanged(RiskSignal signal) { }
    void Classified(SpikeVerdict verdict) { }
    void RolledBack(RollbackOrder order) { }
}

/// <summary>
/// The end of an invocation, also written to summary.json. <c>Interrupted</c>: stopped by cancellation (Ctrl-C);
/// <c>Failure</c>: the spike policy gave up. <c>ModelSha256</c> identifies the final weights bit for bit.
/// </summary>
public sealed record RunSummary(string RunDir, long Step, long TotalSteps, bool Interrupted, double? ValLoss, double? ValPpl,
    double TokensPerS, int Spikes, int Rollbacks, double WallSeconds, long Parameters, double? LastLoss, string? ModelSha256, string? Failure)
{
    public bool Finished => Failure is null && Step >= TotalSteps;
}

/// <summary>
/// A whole training run in a folder: resolved config, metrics.jsonl, checkpoints/ and summary.json.
/// Starts from a <see cref="ResumePoint"/>, leaves spike decisions to an <see cref="IRunControl"/>, rolls back
/// exactly when told, and stops cleanly (with a checkpoint) when cancelled.
/// </summary>
public sealed class TrainingRun(TrainSettings settings, string runDir)
{
    public const string ConfigFile = "config.conf", SummaryFile = "summary.json", CheckpointDir = "checkpoints", StreamFile = "stream.json",
        RiskFile = "risk.json";
    // Detector history kept in each checkpoint: far beyond any sensible detector window, bounded in size.
    const int HistoryCap = 65536;
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string RunDir => runDir;

    /// <summary>Checks the folder can be used before anything is written: a used folder needs <paramref name="resume"/>.</summary>
    public void CheckFolder(bool resume)
    {
        var used = File.Exists(Path.Combine(runDir, MetricsLog.FileName)) || Directory.Exists(Path.Combine(runDir, CheckpointDir));
        if (used && !resume)
            throw new ConfigException([$"run folder {runDir} already holds a run: pass --resume to continue it, or choose another run.dir"]);
    }

    /// <param name="attempt">How many times this run was started before (for <c>faults.throw-attempts</c>).</param>
    public RunSummary Execute(TokenFile data, ResumePoint from, IRunControl control, IRunObserver observer, CancellationToken ct, int attempt = 0)
    {
        Directory.CreateDirectory(runDir);
        // Canonical, not Akka's rendering: that writes strings unquoted ("name : ", "device : cuda:0"), which do not parse back.
        File.WriteAllText(Path.Combine(runDir, ConfigFile), ConfigLoader.Canonical(settings.Source) + "\n");

        var s = settings.Train;
        var store = new CheckpointStore(Path.Combine(runDir, CheckpointDir), settings.Checkpoint.Retention);
        using var trainer = new Trainer(settings, data);
        using var ring = new MemoryRing(settings.Checkpoint.Memory);
        // spike.replay: the state before the step being taken, overwritten every step; on the device, as it is copied every step.
        using var beforeStep = settings.Spike.Replay ? new MemoryState(host: false) : null;
        var start = StartChoice.Choose(from, store.List(), c => CheckpointStore.TryLoad(c.Path));
        foreach (var r in start.Rejected) observer.Message($"skipping checkpoint at step {r.Step}: {r.Reason}");
        // Recorded before the newer checkpoints are deleted below, so a crash in between rejects them again.
        if (start.Rejected.Count > 0) control.Rejected(start.Rejected, start.Point);
        MetricsLog? log = null;
        var risk = new SpikeRisk(settings.Spike.Risk);
        var history = Rewind(trainer, risk, Restore(trainer, start.Checkpoint), start.Point.SkipBatches, f => f * start.Point.LrScale, start.Point.AfterRollback,
            store, ring, control, ref log);
        if (start.Checkpoint is not null) observer.Message($"resumed from step {start.Checkpoint.Step}");
        var board = settings.Run.TensorBoard ? new TensorBoardLog(runDir) : null;
        observer.Started(trainer.Step, s.Steps, trainer.ParameterCount);

        var wall = Stopwatch.StartNew();
        var stepTime = new Stopwatch();
        var speed = new Throughput(trainer.Step);
        var firstStep = trainer.Step;
        int spikes = 0, rollbacks = 0;
        EvalResult? lastEval = null;
        double? lastLoss = null;
        string? modelSha = null, failure = null;
        var interrupted = false;

        try
        {
            while (trainer.Step < s.EndStep)
            {
                if (ct.IsCancellationRequested) { interrupted = true; break; }
                ThrowIfInjected(trainer.Step + 1, attempt);
                var measure = Measures(trainer.Step + 1, s.MeasureInterval) || risk.Raised;
                stepTime.Restart();
                if (beforeStep is not null) trainer.Keep(beforeStep);
                trainer.RiskLrScale = risk.LrScale;
                var m = trainer.TrainStep(measure);
                var seconds = stepTime.Elapsed.TotalSeconds;
                speed.Add(m.Step, (long)s.BatchSize * settings.Model.BlockSize, seconds);

                var point = new StreamPoint(m.Step, m.Loss, m.GradNorm);
                var spike = control.Observe(point);
                if (spike is not null && beforeStep is not null)
                    (m, point, spike) = Replay(trainer, beforeStep, point, spike, measure, history, control, observer);
                if (spike is not null)
                {
                    spikes++;
                    observer.Spiked(spike);
                    var decision = control.Decide(spike, store.List());
                    if (decision.Failure is not null) { failure = decision.Failure; break; }
                    if (decision.Rollback is { } order)
                    {
                        Hold(PausePoint.Rollback, order.FromStep, observer, ct);
                        // The scale applies to the rate the run had at the spike, so repeated rollbacks to one
                        // checkpoint keep lowering it (the checkpoint's own factor predates them).
                        var factor = trainer.LrFactor * order.LrScale;
                        var restoring = Stopwatch.StartNew();
                        var kept = ring.Find(order.ToStep);
                        var restored = kept is not null ? Restore(trainer, kept)
                            : Restore(trainer, order.ToStep == 0 ? null : CheckpointStore.Load(StepFolder(store, order.ToStep)));
                        history = Rewind(trainer, risk, restored, order.SkipBatches, _ => factor, afterRollback: true, store, ring, control, ref log);
                        observer.Message($"step {order.ToStep} restored {(kept is not null ? "from memory" : order.ToStep == 0 ? "from the seed" : "from disk")} "
                                         + $"in {restoring.Elapsed.TotalMilliseconds:F0} ms");
                        rollbacks++;
                        observer.RolledBack(order);
                        continue;
                    }
                }
                history.Add(point);
                if (history.Count > HistoryCap) history.RemoveRange(0, history.Count - HistoryCap);
                if (m.UpdateRatio is { } ratios && risk.Observe(m.Step, ratios) is { } change)
                {
                    control.RiskChanged(change);
                    observer.RiskChanged(change);
                }
                lastLoss = m.Loss;

                var eval = EvaluateIfDue(trainer, m.Step, observer);
                lastEval = eval ?? lastEval;
                if (m.Step == s.Steps || measure || eval is not null || spike is not null || m.Step % s.LogInterval == 0)
                {
                    var line = new MetricsLine(m.Step, m.Loss, m.GradNorm, m.Lr, m.Tokens, speed.Window, Environment.WorkingSet / 1048576.0, m.UpdateRatio,
                        m.Gate, eval?.Loss, eval?.Perplexity, spike is null ? null : $"{spike.Rule}:{spike.Metric}", m.LiveTensors);
                    log!.Write(line);
                    board?.Write(line);
                    observer.Stepped(line, speed.Eta(s.EndStep - m.Step, seconds));
                    speed.ResetWindow();
                }
                var interval = risk.CheckpointInterval(settings.Checkpoint.Interval);
                if (m.Step == s.EndStep || (interval > 0 && m.Step % interval == 0))
                    modelSha = SaveCheckpoint(trainer, history, risk, store, ring, control, observer, ct);
            }
            if (interrupted && trainer.Step > firstStep) modelSha = SaveCheckpoint(trainer, history, risk, store, ring, control, observer, ct);
        }
        finally
        {
            log?.Dispose();
        }

        var summary = new RunSummary(runDir, trainer.Step, s.Steps, interrupted, lastEval?.Loss, lastEval?.Perplexity, speed.Steady, spikes,
            rollbacks, wall.Elapsed.TotalSeconds, trainer.ParameterCount, lastLoss, modelSha, failure);
        File.WriteAllBytes(Path.Combine(runDir, SummaryFile), JsonSerializer.SerializeToUtf8Bytes(summary, Json));
        return summary;
    }

    /// <summary>
    /// Runs a spike's step again from the state kept before it, records the verdict and returns the step as replayed
    /// (a transient fault's replay has no spike: it stands, and nothing is rolled back).
    /// </summary>
    static (StepMetrics, StreamPoint, SpikeSignal?) Replay(Trainer trainer, MemoryState before, StreamPoint first, SpikeSignal spike, bool measure,
        IReadOnlyList<StreamPoint> history, IRunControl control, IRunObserver observer)
    {
        trainer.Restore(before);
        control.Reset(history);   // the detectors have seen the first run's point
        var m = trainer.TrainStep(measure);
        var point = new StreamPoint(m.Step, m.Loss, m.GradNorm);
        var again = control.Observe(point);
        var verdict = SpikeReplay.Classify(spike, first, point, again);
        control.Classified(verdict);
        observer.Classified(verdict);
        return (m, point, again);
    }

    /// <summary>
    /// After the trainer is put at a checkpoint, for a resume or a rollback alike: the detector history and risk state
    /// <paramref name="restored"/> with it, the data skip, the learning-rate factor (<paramref name="lrFactor"/> maps
    /// the checkpoint's own); checkpoints and metrics past it are dropped, as that history is being redone.
    /// </summary>
    List<StreamPoint> Rewind(Trainer trainer, SpikeRisk risk, (List<StreamPoint> History, RiskState Risk) restored, long skipBatches,
        Func<double, double> lrFactor, bool afterRollback, CheckpointStore store, MemoryRing ring, IRunControl control, ref MetricsLog? log)
    {
        var history = restored.History;
        risk.State = restored.Risk;
        trainer.SkipBatches(skipBatches);
        trainer.LrFactor = lrFactor(trainer.LrFactor);
        var rollback = settings.Spike.Rollback;
        if (afterRollback && rollback.ResetMoments) trainer.ResetMoments(rollback.RewarmupSteps);
        store.DeleteAfter(trainer.Step);
        ring.DropAfter(trainer.Step);
        log?.Dispose();
        log = new MetricsLog(Path.Combine(runDir, MetricsLog.FileName), trainer.Step);
        control.Reset(history);
        return history;
    }

    /// <summary>Validation at the eval interval and at the last step; null on other steps.</summary>
    EvalResult? EvaluateIfDue(Trainer trainer, long step, IRunObserver observer)
    {
        var s = settings.Train;
        if (step != s.Steps && (s.EvalInterval <= 0 || step % s.EvalInterval != 0)) return null;
        var eval = trainer.Evaluate();
        observer.Evaluated(eval);
        return eval;
    }

    void ThrowIfInjected(long step, int attempt)
    {
        var f = settings.Faults;
        if (f.ThrowAtStep == step && attempt < f.ThrowAttempts)
            throw new InjectedFault($"injected fault at step {f.ThrowAtStep} (attempt {attempt + 1} of {f.ThrowAttempts} that throw)");
    }

    /// <summary>
    /// Whether a step measures update ratios and gates: every step of the first interval (early blow-ups happen
    /// there), then every <paramref name="interval"/>-th; never when the interval is 0.
    /// </summary>
    public static bool Measures(long step, long interval) => interval > 0 && (step <= interval || step % interval == 0);

    /// <summary>Puts the trainer at a checkpoint (null: the initialisation) and returns the detector history and risk state saved with it.</summary>
    static (List<StreamPoint>, RiskState) Restore(Trainer trainer, Checkpoint? c)
    {
        if (c is null)
        {
            if (trainer.Step > 0) trainer.Restore(c);   // else already at the initialisation
            return ([], RiskState.Calm);
        }
        trainer.Restore(c);
        return (c.Files.TryGetValue(StreamFile, out var bytes) ? JsonSerializer.Deserialize<List<StreamPoint>>(bytes, Json)! : [],
            c.Files.TryGetValue(RiskFile, out var saved) ? JsonSerializer.Deserialize<RiskState>(saved, Json)! : RiskState.Calm);
    }

    /// <summary>The same from the copy of a checkpoint kept in memory, in place.</summary>
    static (List<StreamPoint>, RiskState) Restore(Trainer trainer, KeptCheckpoint k)
    {
        trainer.Restore(k.State);
        return ([.. k.History], k.Risk);
    }

    static string StepFolder(CheckpointStore store, long step) =>
        store.List().FirstOrDefault(c => c.Step == step)?.Path
        ?? throw new InvalidDataException($"rollback target: no checkpoint at step {step} in {store.Directory}");

    /// <summary>Writes, commits (the control returns once it is recorded) and only then prunes; returns the model's SHA-256.</summary>
    string SaveCheckpoint(Trainer trainer, List<StreamPoint> history, SpikeRisk risk, CheckpointStore store, MemoryRing ring, IRunControl control,
        IRunObserver observer, CancellationToken ct)
    {
        var c = trainer.Capture();
        var files = new Dictionary<string, byte[]>(c.Files) { [StreamFile] = JsonSerializer.SerializeToUtf8Bytes(history, Json) };
        // Only where the rule runs, so checkpoints without it stay as they were.
        if (settings.Spike.Risk.Enabled) files[RiskFile] = JsonSerializer.SerializeToUtf8Bytes(risk.State, Json);
        var info = store.Save(c with { Files = files }, () => Hold(PausePoint.CheckpointWrite, c.Step, observer, ct));
        control.Committed(info);
        ring.Add(trainer, history, risk.State);
        store.Prune();
        observer.Checkpointed(info);
        return CheckpointStore.Sha256(c.File(Trainer.ModelFile));
    }

    // faults.pauses: holds the run at a point, so tests can stop or kill it there.
    void Hold(PausePoint point, long step, IRunObserver observer, CancellationToken ct)
    {
        if (!settings.Faults.PausesAt(point, step)) return;
        observer.Message($"fault: holding {(point == PausePoint.Rollback ? "rollback" : "checkpoint-write")}@{step} for {settings.Faults.PauseTime.TotalSeconds:G}s");
        ct.WaitHandle.WaitOne(settings.Faults.PauseTime);
    }
}

/// <summary>
/// Tokens/s over the steps since the last log line, and steady-state tokens/s from the end of the warm-up steps
/// (which pay for allocation) to now, as wall time of everything the loop does (steps, detection, logging,
/// evaluation, checkpoints).
/// </summary>
sealed class Throughput(long firstStep)
{
    readonly Stopwatch steady = new();
    long windowTokens, timedTokens, timedSteps;
    double windowSeconds;

    public void Add(long step, long tokens, double seconds)
    {
        windowTokens += tokens;
        windowSeconds += seconds;
        if (!steady.IsRunning)
        {
            if (step - firstStep >= 3) steady.Start();
        }
        else
        {
            timedTokens += tokens;
            timedSteps++;
        }
    }

    public double Window => windowTokens / Math.Max(windowSeconds, 1e-9);

    public void ResetWindow() => (windowTokens, windowSeconds) = (0, 0);

    public double Steady => timedTokens > 0 ? timedTokens / steady.Elapsed.TotalSeconds : 0;

    /// <summary>Steps left at the steady pace (at the last step's time before it is known).</summary>
    public TimeSpan Eta(long stepsLeft, double lastStepSeconds) =>
        TimeSpan.FromSeconds((timedSteps > 0 ? steady.Elapsed.TotalSeconds / timedSteps : lastStepSeconds) * stepsLeft);
}
