namespace WeSaR.Model.Init;

/// <summary>How a scheme treats each matrix W: plain (W drawn at the target std) or reparameterised as alpha*W.</summary>
public enum Reparam { None, Trainable, Frozen }

/// <summary>
/// An initialisation scheme as data: a backbone table of target std per matrix role plus modifiers.
/// Grammar: <c>normal | small | he | megatron</c>, or a modifier applied to one:
/// <c>wesar(b)</c> (trainable gates), <c>wesar-frozen(b)</c> (gates fixed: the fixed-scale ablation),
/// <c>scaled-embed(b)</c> (embeddings times sqrt(d), Takase et al.), <c>embed-ln(b)</c> (LayerNorm after the embedding).
/// Bare modifiers take a default backbone: wesar → he, scaled-embed and embed-ln → small.
/// </summary>
public sealed record InitScheme(string Name, Backbone Backbone, Reparam Reparam, double Sigma, bool ScaledEmbed, bool EmbedNorm)
{
    /// <summary>The paper's common variance for reparameterised matrices.</summary>
    public const double DefaultSigma2 = 4e-5;

    /// <summary>Std the forward pass should see for this matrix at step 0.</summary>
    public double TargetStd(MatrixSite site) => Backbone.Std(site);

    /// <summary>Whether this matrix is stored as W with a scalar gate alpha. Position embeddings are never gated.</summary>
    public bool IsGated(MatrixRole role) => Reparam != Reparam.None && role != MatrixRole.Position;

    /// <summary>Std of the stored W: the common sigma when gated, otherwise the target itself.</summary>
    public double StoredStd(MatrixSite site) => IsGated(site.Role) ? Sigma : TargetStd(site);

    /// <summary>alpha at step 0, so that alpha * W has the backbone's std.</summary>
    public double GateInit(MatrixSite site) => TargetStd(site) / Sigma;

    public static InitScheme Parse(string text, double sigma2 = DefaultSigma2)
    {
        if (!(sigma2 > 0)) throw new ArgumentException($"init.sigma2 must be positive, got {sigma2}");
        var name = text.Trim().ToLowerInvariant();
        var scheme = ParseInner(name, Math.Sqrt(sigma2));
        return scheme with { Name = name };
    }

    static InitScheme ParseInner(string name, double sigma)
    {
        if (Backbone.All.TryGetValue(name, out var backbone))
            return new InitScheme(name, backbone, Reparam.None, sigma, false, false);
        var open = name.IndexOf('(');
        var modifier = open < 0 ? name : name[..open];
        string inner;
        if (open < 0)
            inner = modifier == "wesar" || modifier == "wesar-frozen" ? "he" : "small";
        else if (name.EndsWith(')'))
            inner = name[(open + 1)..^1];
        else
            throw Unknown(name);
        if (!Modifiers.Contains(modifier)) throw Unknown(name);
        var b = ParseInner(inner, sigma);
        return modifier switch
        {
            "wesar" => b with { Reparam = Reparam.Trainable },
            "wesar-frozen" => b with { Reparam = Reparam.Frozen },
            "scaled-embed" => b with { ScaledEmbed = true },
            _ => b with { EmbedNorm = true },
        };
    }

    static readonly string[] Modifiers = ["wesar", "wesar-frozen", "scaled-embed", "embed-ln"];

    static ArgumentException Unknown(string name) => new(
        $"unknown init scheme '{name}'; use one of {string.Join(", ", Backbone.All.Keys)} " +
        $"or a modifier around one: {string.Join(", ", Modifiers.Select(m => m + "(he)"))}");
}
