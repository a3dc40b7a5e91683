using WeSaR.Model.Init;
using static TorchSharp.torch;

namespace WeSaR.Model.Tests;

public sealed class QkNormTests
{
    [Fact]
    public void Qk_norm_adds_one_query_and_one_key_gain_per_layer_and_head_width_and_off_is_the_plain_model()
    {
        GptConfig Config(bool qkNorm) => new(64, 16, 2, 2, 32, QkNorm: qkNorm);
        manual_seed(3);
        using var plain = new Gpt(Config(false), InitScheme.Parse("he"));
        manual_seed(3);
        using var normed = new Gpt(Config(true), InitScheme.Parse("he"));
        var extra = normed.named_parameters().Select(p => p.name).Except(plain.named_parameters().Select(p => p.name)).ToList();
        Assert.Equal(4, extra.Count);   // q_norm and k_norm of 2 layers
        Assert.All(extra, name => Assert.Matches(@"attn\.(q|k)_norm\.weight$", name));
        Assert.All(normed.named_parameters().Where(p => extra.Contains(p.name)), p => Assert.Equal(new long[] { 16 }, p.parameter.shape));   // d / heads

        // The same initial weights everywhere else, and a different forward pass once the norms act.
        foreach (var (name, p) in plain.named_parameters()) Assert.True(p.eq(normed.get_parameter(name)!).all().item<bool>(), name);
        using var x = randint(64, [2, 16]);
        Assert.False(plain.call(x).allclose(normed.call(x)));
    }

    [Fact]
    public void The_norm_scales_each_head_vector_to_unit_root_mean_square()
    {
        // [3, 4]: rms = sqrt(12.5), so [3, 4] / 3.5355 = [0.8485, 1.1314] with the gain of 1 it starts with.
        using var norm = new RmsNorm(2, eps: 0);
        var y = norm.call(tensor(new[] { 3f, 4f }).view(1, 1, 1, 2)).data<float>().ToArray();
        Assert.Equal(3 / Math.Sqrt(12.5), y[0], 5);
        Assert.Equal(4 / Math.Sqrt(12.5), y[1], 5);
    }
}
