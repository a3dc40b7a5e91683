using WeSaR.Model.Init;

namespace WeSaR.Model.Tests;

public sealed class FootprintTests
{
    [Theory]
    [InlineData("he", false)]
    [InlineData("wesar(he)", false)]
    [InlineData("wesar-frozen(he)", true)]
    [InlineData("embed-ln(small)", true)]
    [InlineData("scaled-embed(small)", false)]
    public void The_shapes_arithmetic_counts_the_parameters_the_model_builds(string scheme, bool qkNorm)
    {
        var c = new GptConfig(96, 24, 3, 4, 32, QkNorm: qkNorm);
        var s = InitScheme.Parse(scheme);
        using var model = new Gpt(c, s);
        var f = Footprint.Of(c, s, batchSize: 5);

        var all = model.parameters().ToList();
        Assert.Equal(all.Sum(p => p.numel()), f.Parameters);
        Assert.Equal(f.Parameters - 96 * 32 - 24 * 32, f.NonEmbeddingParameters);   // all but the token and position tables
        Assert.Equal(4 * all.Where(p => p.requires_grad).Sum(p => p.numel()), f.Gradients);
        Assert.Equal(2 * f.Gradients, f.Moments);
        // Only linear maps make alpha*W; a gated embedding scales the rows it looks up.
        Assert.Equal(4 * model.Matrices().Where(m => m.Matrix is GatedLinear && m.Matrix.Gate is not null).Sum(m => m.Matrix.Weight.numel()), f.GatedWeights);
        Assert.Equal(4 * model.Matrices().Sum(m => m.Matrix.Weight.numel()), f.MeasuredCopy);
        Assert.Equal(4 * all.Where(p => p.requires_grad).Max(p => p.numel()), f.OptimizerTemporary);
        Assert.Equal(12 * f.Parameters, f.ReplayCopy);
        Assert.Equal(6L * 4 * 5 * 24 * 96, f.Logits);   // six floats per token (5 x 24) and vocabulary entry
        Assert.Equal(10L * 4 * 5 * 24 * 96, Footprint.Of(c, s, batchSize: 5, zLoss: true).Logits);   // four more with the z-loss
    }

    [Fact]
    public void Flops_per_token_are_six_per_non_embedding_parameter_plus_attention()
    {
        var c = new GptConfig(256, 32, 2, 4, 64);
        var f = Footprint.Of(c, InitScheme.Parse("he"), 1);
        // 12 L T d = 12 x 2 x 32 x 64 = 49,152.
        Assert.Equal(6.0 * f.NonEmbeddingParameters + 49_152, f.FlopsPerToken);
    }

    [Fact]
    public void Activations_grow_with_the_batch_and_the_depth_and_not_the_weights()
    {
        var s = InitScheme.Parse("he");
        var one = Footprint.Of(new GptConfig(256, 64, 4, 4, 64), s, 8);
        var twice = Footprint.Of(new GptConfig(256, 64, 4, 4, 64), s, 16);
        var deeper = Footprint.Of(new GptConfig(256, 64, 8, 4, 64), s, 8);
        Assert.Equal(2 * one.Activations, twice.Activations);
        Assert.Equal(2 * one.Logits, twice.Logits);
        Assert.Equal(one.Weights, twice.Weights);
        // Four more blocks of 8 x 64 tokens, each keeping its floats per token and unit of width.
        Assert.Equal(4L * Footprint.BlockFloatsPerTokenWidth * 8 * 64 * 64 * 4, deeper.Activations - one.Activations);
        Assert.Equal(one.Total, one.Weights + one.Gradients + one.Moments + one.GatedWeights + one.OptimizerTemporary + one.Activations + one.Logits);
    }
}
