using WeSaR.Model.Checkpoints;
using WeSaR.Training.Config;
using WeSaR.Training.Loop;
using WeSaR.Training.Spikes;

namespace WeSaR.Cli;

/// <summary>
/// Live progress: on a terminal one status line rewritten every step; when output is redirected, about
/// twenty plain lines per run. Evaluations, checkpoints and spikes always get a line of their own.
/// </summary>
public sealed class ProgressPrinter(long totalSteps) : IRunObserver
{
    readonly bool live = !Console.IsOutputRedirected;
    readonly long every = Math.Max(1, totalSteps / 20);

    public void Message(string text) => Line(text);

    public void Started(long fromStep, long total, long parameters) =>
        Line($"training {parameters:N0} parameters, steps {fromStep + 1}..{total}");

    public void Stepped(MetricsLine l, TimeSpan eta)
    {
        var text = $"step {l.Step,6}/{totalSteps} | loss {l.Loss,7:F4} | grad {l.GradNorm,6:F3} | lr {LrFormat.Of(l.Lr)} | " +
                   $"{l.TokensPerS,8:N0} tok/s | ETA {Format(eta)}";
        if (live) Console.Write("\r" + text.PadRight(Console.WindowWidth > 0 ? Math.Min(Console.WindowWidth - 1, 110) : 0));
        else if (l.Step % every == 0 || l.Step == totalSteps) Console.WriteLine(text);
    }

    public void Evaluated(EvalResult r) => Line(Wording.Eval(r));

    public void Checkpointed(CheckpointInfo info) => Line($"checkpoint {info.Path}");

    public void Spiked(SpikeSignal s) => Line(Wording.Spike(s));

    public void RiskChanged(RiskSignal s) => Line(Wording.Risk(s));

    public void Classified(SpikeVerdict v) => Line(Wording.Verdict(v));

    public void RolledBack(RollbackOrder o) => Line(Wording.Rollback(o));

    public void Finish(RunSummary s)
    {
        Line(s.Failure is not null ? $"failed at step {s.Step}: {s.Failure}"
            : !s.Finished
            ? $"stopped at step {s.Step}/{s.TotalSteps}; continue with --resume --set run.dir={s.RunDir}"
            : $"done: {s.Step} steps in {Format(TimeSpan.FromSeconds(s.WallSeconds))}, val loss {s.ValLoss:F4} " +
              $"(perplexity {s.ValPpl:F2}), {s.TokensPerS:N0} tokens/s, {s.Spikes} spike(s), {s.Rollbacks} rollback(s); run folder {s.RunDir}");
    }

    void Line(string text)
    {
        if (live) Console.Write("\r" + new string(' ', Math.Max(0, Console.WindowWidth - 1)) + "\r");
        Console.WriteLine(text);
    }

    static string Format(TimeSpan t) => Tables.Duration(t.TotalSeconds);
}
