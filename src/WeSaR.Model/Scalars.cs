using TorchSharp;

namespace WeSaR.Model;

/// <summary>
/// Scalars the forward pass uses, alive for the whole process. TorchSharp turns a bare number (and the implicit
/// alpha of <c>a + b</c>) into a temporary native Scalar with a finalizer, which the GC may finalize while the
/// native op still reads it: a rare "toFloat" failure under load. A Scalar held here is never finalized.
/// </summary>
public static class Scalars
{
    public static readonly Scalar One = 1, Two = 2;
}
