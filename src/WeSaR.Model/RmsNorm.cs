using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WeSaR.Model;

/// <summary>RMSNorm (absent from TorchSharp 0.107): x / rms(x) * g, gain initialised to 1 and never gated.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    /// <summary>The epsilon every norm of the model uses (exports name it, so other code computes the same).</summary>
    public const double DefaultEps = 1e-6;

    readonly Parameter weight;
    readonly Scalar eps;   // held for the module's life (see Scalars)

    public RmsNorm(long dim, double eps = DefaultEps) : base(nameof(RmsNorm))
    {
        weight = new Parameter(ones(dim));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) =>
        x * rsqrt(x.pow(Scalars.Two).mean([-1], keepdim: true).add(eps, Scalars.One)) * weight;
}
