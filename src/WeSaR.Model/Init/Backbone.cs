namespace WeSaR.Model.Init;

/// <summary>A backbone initialisation: the table of target std per matrix role (docs/init-schemes.md).</summary>
public sealed record Backbone(string Name, IReadOnlyDictionary<MatrixRole, Func<MatrixSite, double>> Table)
{
    public double Std(MatrixSite s) => Table[s.Role](s);

    /// <summary>GPT-2 style learned positions, all schemes (our choice; the paper's table has no row for them).</summary>
    const double PositionStd = 0.02;

    static Backbone Make(string name, Func<MatrixSite, double> input, Func<MatrixSite, double> residualOut,
        Func<MatrixSite, double> ffnDown, Func<MatrixSite, double> embedding) => new(name, new Dictionary<MatrixRole, Func<MatrixSite, double>>
    {
        [MatrixRole.Query] = input, [MatrixRole.Key] = input, [MatrixRole.Value] = input,
        [MatrixRole.FfnUp] = input, [MatrixRole.Head] = input,
        [MatrixRole.AttnOut] = residualOut, [MatrixRole.FfnDown] = ffnDown,
        [MatrixRole.Embedding] = embedding, [MatrixRole.Position] = _ => PositionStd,
    });

    static double Small(MatrixSite s) => Math.Sqrt(2.0 / (5 * s.D));
    static double Depth(MatrixSite s) => Math.Sqrt(2.0 * s.N);

    /// <summary>He (fan-in) with residual scaling: the paper's default backbone. Embedding std 1 is our choice.</summary>
    public static readonly Backbone He = Make("he",
        s => Math.Sqrt(1.0 / s.D), s => Math.Sqrt(1.0 / (2.0 * s.N * s.D)), s => Math.Sqrt(2.0 / (8.0 * s.N * s.D)), _ => 1.0);

    /// <summary>Small init (Nguyen and Salazar): sqrt(2/(5d)), residual outputs divided by sqrt(2N).</summary>
    public static readonly Backbone SmallInit = Make("small", Small, s => Small(s) / Depth(s), s => Small(s) / Depth(s), Small);

    /// <summary>GPT-2 style: 0.02 everywhere.</summary>
    public static readonly Backbone Normal = Make("normal", _ => 0.02, _ => 0.02, _ => 0.02, _ => 0.02);

    /// <summary>Megatron-LM: 0.02, residual outputs 0.02/sqrt(2N).</summary>
    public static readonly Backbone Megatron = Make("megatron", _ => 0.02, s => 0.02 / Depth(s), s => 0.02 / Depth(s), _ => 0.02);

    public static readonly IReadOnlyDictionary<string, Backbone> All =
        new[] { He, SmallInit, Normal, Megatron }.ToDictionary(b => b.Name);
}
