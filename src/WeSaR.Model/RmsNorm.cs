using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WeSaR.Model;

/// <summary>RMSNorm (absent from TorchSharp 0.107): x / rms(x) * g, gain initialised to 1 and never gated.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly double eps;

    public RmsNorm(long dim, double eps = 1e-6) : base(nameof(RmsNorm))
    {
        weight = new Parameter(ones(dim));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) =>
        x * rsqrt(x.pow(2).mean([-1], keepdim: true) + eps) * weight;
}
