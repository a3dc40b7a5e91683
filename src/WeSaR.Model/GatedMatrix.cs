using TorchSharp;
using TorchSharp.Modules;
using WeSaR.Model.Init;
using static TorchSharp.torch;

namespace WeSaR.Model;

/// <summary>
/// A weight matrix W used as alpha*W when its scheme reparameterises it (WeSaR), else as W.
/// The gate is a float32 scalar; frozen gates stay parameters (with requires_grad off) so checkpoints carry them.
/// </summary>
public abstract class GatedMatrix : nn.Module<Tensor, Tensor>
{
    protected readonly Parameter weight;
    protected readonly Parameter? gate;

    public MatrixSite Site { get; }

    protected GatedMatrix(string name, long rows, long cols, MatrixSite site, InitScheme scheme) : base(name)
    {
        Site = site;
        weight = new Parameter(empty(rows, cols));
        if (scheme.IsGated(site.Role))
            gate = new Parameter(tensor((float)scheme.GateInit(site)), requires_grad: scheme.Reparam == Reparam.Trainable);
        using (no_grad()) nn.init.normal_(weight, 0.0, scheme.StoredStd(site));
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public Parameter? Gate => gate;

    /// <summary>W_bar = alpha*W, the matrix the forward pass effectively uses: a copy, never a view of the parameter.</summary>
    public Tensor EffectiveWeight() => gate is null ? weight.detach().clone() : weight.detach() * gate.detach();

}

/// <summary>
/// y = (alpha*W) x: the gate scales the weight, d_in*d_out elements, not the output, batch*tokens*d_out of them
/// (32 times fewer at the tiny preset, forward and backward).
/// </summary>
public sealed class GatedLinear : GatedMatrix
{
    public GatedLinear(long inFeatures, long outFeatures, MatrixSite site, InitScheme scheme)
        : base(nameof(GatedLinear), outFeatures, inFeatures, site, scheme) { }

    public override Tensor forward(Tensor x) => nn.functional.linear(x, gate is null ? weight : weight * gate);
}

/// <summary>A lookup table whose rows are scaled by one gate.</summary>
public sealed class GatedEmbedding : GatedMatrix
{
    public GatedEmbedding(long count, long dim, MatrixSite site, InitScheme scheme)
        : base(nameof(GatedEmbedding), count, dim, site, scheme) { }

    public override Tensor forward(Tensor idx)
    {
        // Scaling the looked-up rows touches batch*tokens*d elements, fewer than the table has for any real vocabulary.
        var rows = weight.index_select(0, idx.reshape(-1)).view([.. idx.shape, weight.shape[1]]);
        return gate is null ? rows : rows * gate;
    }
}
