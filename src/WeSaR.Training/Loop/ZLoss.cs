using TorchSharp;
using WeSaR.Model;
using static TorchSharp.torch;

namespace WeSaR.Training.Loop;

/// <summary>
/// PaLM's auxiliary z-loss: <c>weight · mean((log Z)²)</c>, Z the softmax normaliser of each position's logits. Added
/// to the training objective it keeps log Z near 0, so the logits cannot drift into an overflowing softmax.
/// </summary>
public static class ZLoss
{
    /// <param name="logits">One row of vocabulary logits per position.</param>
    public static Tensor Of(Tensor logits, double weight)
    {
        using Scalar w = weight;   // held until the op returns (see Optim.Step)
        return logsumexp(logits, -1).square().mean().mul(w);
    }

    /// <summary>The objective a step minimises: the loss, plus the z-loss when its weight is above 0 (else the loss itself, bit for bit).</summary>
    public static Tensor Objective(Tensor loss, Tensor logits, double weight) => weight > 0 ? loss.add(Of(logits, weight), Scalars.One) : loss;
}
