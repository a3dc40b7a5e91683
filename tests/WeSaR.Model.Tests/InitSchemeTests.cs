using WeSaR.Model;
using WeSaR.Model.Init;
using static TorchSharp.torch;

namespace WeSaR.Model.Tests;

public class InitSchemeTests
{
    // Wide enough that a matrix's empirical std is within ~1% of the truth.
    static readonly GptConfig Shape = new(VocabSize: 512, BlockSize: 64, NLayer: 4, NHead: 4, DModel: 256);

    static Gpt Build(string scheme)
    {
        manual_seed(7);
        return new Gpt(Shape, InitScheme.Parse(scheme));
    }

    static double Std(Tensor t) => t.std().item<float>();

    public static TheoryData<string> Schemes => new()
    {
        "normal", "small", "he", "megatron", "scaled-embed", "embed-ln", "wesar(he)", "wesar(small)", "wesar(megatron)", "wesar-frozen(he)",
    };

    [Theory]
    [MemberData(nameof(Schemes))]
    public void Every_matrix_starts_at_its_roles_target_std(string scheme)
    {
        using var model = Build(scheme);
        var matrices = model.Matrices();
        Assert.Equal(4 * 6 + 2, matrices.Count);
        foreach (var (name, m) in matrices)
        {
            var target = model.Scheme.TargetStd(m.Site);
            Assert.True(Math.Abs(Std(m.EffectiveWeight()) / target - 1) < 0.02, $"{scheme} {name}: std {Std(m.EffectiveWeight())} vs {target}");
        }
        Assert.True(Math.Abs(Std(model.PositionEmbedding) / 0.02 - 1) < 0.02);
    }

    [Theory]
    // d = 256, N = 4, per reference/wesar-method.md's table.
    [InlineData("he", MatrixRole.Query, 0.0625)]               // sqrt(1/d)
    [InlineData("he", MatrixRole.AttnOut, 0.0220970869)]       // sqrt(1/(2Nd))
    [InlineData("he", MatrixRole.FfnDown, 0.015625)]           // sqrt(2/(8Nd))
    [InlineData("he", MatrixRole.Embedding, 1.0)]
    [InlineData("small", MatrixRole.FfnUp, 0.0395284708)]      // sqrt(2/(5d))
    [InlineData("small", MatrixRole.AttnOut, 0.0139754249)]    // sqrt(2/(5d))/sqrt(2N)
    [InlineData("normal", MatrixRole.FfnDown, 0.02)]
    [InlineData("megatron", MatrixRole.FfnDown, 0.0070710678)] // 0.02/sqrt(2N)
    [InlineData("megatron", MatrixRole.Head, 0.02)]
    public void Table_matches_the_papers_formulas(string scheme, MatrixRole role, double expected) =>
        Assert.Equal(expected, InitScheme.Parse(scheme).TargetStd(new(role, 256, 4, 2)), 8);

    [Theory]
    [InlineData("he")]
    [InlineData("wesar(he)")]
    public void The_effective_weight_is_a_copy_that_can_be_changed_without_touching_the_parameter(string scheme)
    {
        // Update ratios subtract in place from it (Trainer.UpdateRatios): a view would rewrite the weights.
        using var model = Build(scheme);
        foreach (var (name, m) in model.Matrices())
        {
            using var stored = m.Weight.detach().clone();
            using var effective = m.EffectiveWeight();
            effective.sub_(effective);
            Assert.True(m.Weight.allclose(stored, rtol: 0, atol: 0), name);
        }
    }

    [Fact]
    public void Wesar_he_has_the_effective_weights_of_he_while_all_stored_W_share_one_std()
    {
        using var he = Build("he");
        using var wesar = Build("wesar(he)");
        var sigma = Math.Sqrt(InitScheme.DefaultSigma2);
        foreach (var ((name, plain), (_, gated)) in he.Matrices().Zip(wesar.Matrices()))
        {
            Assert.Null(plain.Gate);
            Assert.NotNull(gated.Gate);
            Assert.True(Math.Abs(Std(gated.EffectiveWeight()) / Std(plain.EffectiveWeight()) - 1) < 0.03, name);
            Assert.True(Math.Abs(Std(gated.Weight) / sigma - 1) < 0.02, $"{name}: stored std {Std(gated.Weight)}");
            Assert.Equal(he.Scheme.TargetStd(plain.Site) / sigma, gated.Gate!.item<float>(), 3);
            Assert.True(gated.Gate.requires_grad);
        }
    }

    [Fact]
    public void Frozen_gates_are_kept_but_not_trained()
    {
        using var model = Build("wesar-frozen(he)");
        Assert.All(model.Matrices(), m => Assert.False(m.Matrix.Gate!.requires_grad));
        using var opt = Optim.AdamW(model, new AdamWOptions(1e-3));
        var trained = opt.ParamGroups.Cast<TorchSharp.Modules.ParamGroup>().SelectMany(g => g.Parameters).Count();
        Assert.Equal(model.parameters().Count() - model.Matrices().Count, trained);
    }

    [Fact]
    public void Sigma2_sets_the_common_std_and_the_gates()
    {
        var s = InitScheme.Parse("wesar(he)", sigma2: 1.0 / 256);
        var site = new MatrixSite(MatrixRole.Query, 256, 4, 0);
        Assert.Equal(1.0 / 16, s.StoredStd(site), 10);
        Assert.Equal(1.0, s.GateInit(site), 10);   // sigma^2 = 1/d: W_q's gate starts at 1
    }

    [Theory]
    [InlineData("wesar", Reparam.Trainable, "he")]
    [InlineData("WeSaR(small)", Reparam.Trainable, "small")]
    [InlineData("wesar-frozen(megatron)", Reparam.Frozen, "megatron")]
    [InlineData("scaled-embed", Reparam.None, "small")]
    [InlineData("wesar(embed-ln(he))", Reparam.Trainable, "he")]
    public void Scheme_names_parse_into_backbone_and_modifiers(string text, Reparam reparam, string backbone)
    {
        var s = InitScheme.Parse(text);
        Assert.Equal(reparam, s.Reparam);
        Assert.Equal(backbone, s.Backbone.Name);
    }

    [Theory]
    [InlineData("xavier")]
    [InlineData("wesar(")]
    [InlineData("wesar(foo)")]
    [InlineData("blah(he)")]
    public void Unknown_schemes_are_rejected_with_the_valid_names(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => InitScheme.Parse(text));
        Assert.Contains("megatron", e.Message);
    }

    [Fact]
    public void Scaled_embed_multiplies_the_input_by_sqrt_d_and_embed_ln_normalises_it()
    {
        using var idx = tensor(new long[] { 1, 2, 3, 4 }, [1, 4]);
        using var plain = Build("small");
        using var scaled = Build("scaled-embed(small)");
        using var normed = Build("embed-ln(small)");
        Assert.Contains(normed.named_parameters(), p => p.name.StartsWith("ln_e"));
        Assert.DoesNotContain(plain.named_parameters(), p => p.name.StartsWith("ln_e"));
        // Same seed, same weights: only the embedding path differs.
        using var positions = plain.PositionEmbedding.narrow(0, 0, 4);
        using var tokens = plain.Embed(idx) - positions;
        using var scaledTokens = scaled.Embed(idx) - positions;
        Assert.True(scaledTokens.allclose(tokens * Math.Sqrt(Shape.DModel), rtol: 1e-5, atol: 1e-6));
        using var n = normed.Embed(idx);
        Assert.True(n.mean([-1]).abs().max().item<float>() < 1e-4);
        Assert.True((n.var([-1], unbiased: false) - 1).abs().max().item<float>() < 0.02);   // LayerNorm eps=1e-5 against a variance near 2e-3
    }
}
