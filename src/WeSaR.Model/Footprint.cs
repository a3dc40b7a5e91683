using WeSaR.Model.Init;

namespace WeSaR.Model;

/// <summary>
/// What one training step of a shape holds on its device at its peak, in bytes (float32 throughout), and what it
/// computes, worked out from the shape alone so that it answers for shapes too large to build here (the 1.3b and 13b
/// presets). Activations count every intermediate of the forward pass, not only what autograd saves: the trainer's
/// dispose scope keeps each one until the step ends (Trainer.Advance). `wesar estimate --measure` checks the sum
/// against a real step on this machine.
/// </summary>
/// <param name="GatedElements">Elements of the gated linear matrices (WeSaR): each step also holds alpha*W for each. A gated
/// embedding scales the rows it looks up instead, which the activations count.</param>
/// <param name="OptimizerTemporary">AdamW's denominator sqrt(v) + eps, made for one parameter at a time: the largest.</param>
/// <param name="Activations">Per-layer intermediates and the backward pass's working set, batch × block tokens.</param>
/// <param name="Logits">The head's logits and what cross-entropy (and the z-loss, when on) makes of them, per token and vocabulary entry.</param>
/// <param name="FlopsPerToken">
/// 6 N + 12 L T d per token trained (Kaplan et al. 2020; PaLM appendix B): N counts every parameter but the token and
/// position tables (the head is a matmul and counts), 12 L T d is attention's score and value products.
/// </param>
public sealed record Footprint(long Parameters, long NonEmbeddingParameters, long GatedElements, long Weights, long Gradients,
                               long Moments, long GatedWeights, long OptimizerTemporary, long Activations, long Logits,
                               long MatrixElements, double FlopsPerToken)
{
    // The coefficients below are measured, not derived: slopes of the C heap's high-water mark over depth, batch, width
    // and vocabulary on this CPU (`wesar estimate --measure`, docs/PERFORMANCE.md "Memory per device").

    /// <summary>Floats per token and unit of width that one block keeps until the step ends (listing its outputs gives 23).</summary>
    public const int BlockFloatsPerTokenWidth = 21;

    /// <summary>What QK-norm's two RMSNorms on every head's queries and keys add to a block.</summary>
    public const int QkNormFloatsPerTokenWidth = 6;

    /// <summary>The final norm and the backward pass's working set beyond the kept forward pass.</summary>
    public const int BackwardFloatsPerTokenWidth = 46;

    /// <summary>Floats per token and vocabulary entry: the logits, their log-softmax, the gradients of both and cross-entropy's temporaries.</summary>
    public const int LogitFloatsPerTokenEntry = 6;

    /// <summary>What PaLM's z-loss adds per token and vocabulary entry: logsumexp's shifted and exponentiated logits and their gradients (2.5-5 measured).</summary>
    public const int ZLossFloatsPerTokenEntry = 4;

    const long Float = 4;

    /// <summary>
    /// Weights, gradients, AdamW's two moments, alpha*W, the optimizer's temporary, activations and logits: the step's peak,
    /// over by at most the temporary, which comes after backward has freed its working set.
    /// </summary>
    public long Total => Weights + Gradients + Moments + GatedWeights + OptimizerTemporary + Activations + Logits;

    /// <summary>What a copy of the weights and both moments adds on the device (spike.replay), 12 bytes per parameter.</summary>
    public long ReplayCopy => 3 * Float * Parameters;

    /// <summary>What a step that measures update ratios adds (train.measure-interval, spike.risk): alpha*W of every matrix before it.</summary>
    public long MeasuredCopy => Float * MatrixElements;

    /// <param name="zLoss">Whether the step adds the z-loss (optim.z-loss above 0).</param>
    public static Footprint Of(GptConfig c, InitScheme s, int batchSize, bool zLoss = false)
    {
        long d = c.DModel, l = c.NLayer, v = c.VocabSize, t = c.BlockSize;
        var perBlockMatrices = 4 * d * d + 2 * d * c.DHidden;
        var tables = v * d + t * d;
        var matrixElements = l * perBlockMatrices + 2 * v * d;   // the blocks, the token table and the head
        var gatedElements = s.Reparam == Reparam.None ? 0 : l * perBlockMatrices + v * d;
        var gates = s.Reparam == Reparam.None ? 0 : 6 * l + 2;
        var nonEmbedding = l * (perBlockMatrices + 2 * d + (c.QkNorm ? 2 * (d / c.NHead) : 0)) + d + d * v + (s.EmbedNorm ? 2 * d : 0) + gates;
        var parameters = tables + nonEmbedding;
        var trainable = parameters - (s.Reparam == Reparam.Frozen ? gates : 0);

        var tokens = (long)batchSize * t;
        var embedding = 2 + (s.IsGated(MatrixRole.Embedding) ? 1 : 0) + (s.ScaledEmbed ? 1 : 0) + (s.EmbedNorm ? 1 : 0);
        var perBlock = BlockFloatsPerTokenWidth + (c.QkNorm ? QkNormFloatsPerTokenWidth : 0);
        var activations = Float * tokens * d * (embedding + l * perBlock + BackwardFloatsPerTokenWidth);
        var flops = 6.0 * nonEmbedding + 12.0 * l * t * d;
        var largest = Math.Max(v * d, Math.Max(d * c.DHidden, t * d));
        return new Footprint(parameters, nonEmbedding, gatedElements, Float * parameters, Float * trainable, 2 * Float * trainable,
            Float * gatedElements, Float * largest, activations, (LogitFloatsPerTokenEntry + (zLoss ? ZLossFloatsPerTokenEntry : 0)) * Float * tokens * v, matrixElements, flops);
    }
}
