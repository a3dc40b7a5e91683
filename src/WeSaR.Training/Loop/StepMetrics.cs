namespace WeSaR.Training.Loop;

/// <summary>
/// What one optimizer step produced. <see cref="UpdateRatio"/> (||ΔW_bar|| / ||W_bar|| per matrix) and
/// <see cref="Gate"/> (alpha per gated matrix) and <see cref="LiveTensors"/> (native tensors alive after the step) are
/// present only on measured steps.
/// </summary>
public sealed record StepMetrics(long Step, double Loss, double GradNorm, double Lr, long Tokens,
    IReadOnlyDictionary<string, double>? UpdateRatio = null, IReadOnlyDictionary<string, double>? Gate = null, long? LiveTensors = null);

/// <summary>Validation over a fixed set of batches.</summary>
public sealed record EvalResult(long Step, double Loss)
{
    public double Perplexity => Math.Exp(Loss);
}
