using static TorchSharp.torch;

namespace WeSaR.Model.Tests;

public sealed class SamplerTests
{
    // Token 3 is the likeliest, then 1, then 0; 2 and 4 are far behind.
    static Tensor Logits() => tensor(new[] { 1.0f, 2.0f, -5.0f, 3.0f, -6.0f });

    static List<long> Draws(double temperature, int topK, ulong seed, int count)
    {
        using var g = new Generator(seed, CPU);
        using var logits = Logits();
        return Enumerable.Range(0, count).Select(_ => Sampler.Next(logits, temperature, topK, g)).ToList();
    }

    [Fact]
    public void Temperature_zero_is_the_argmax_and_top_k_one_draws_only_the_argmax()
    {
        Assert.All(Draws(0, 0, 1, 20), t => Assert.Equal(3, t));
        Assert.All(Draws(5.0, 1, 1, 200), t => Assert.Equal(3, t));
    }

    [Fact]
    public void Top_k_draws_only_among_the_k_likeliest_and_without_it_every_token_can_come()
    {
        var two = Draws(1.0, 2, 7, 400);
        Assert.Equal([1L, 3L], two.Distinct().Order());
        // At temperature 50 the five logits are nearly uniform: 400 draws reach all of them.
        Assert.Equal([0L, 1L, 2L, 3L, 4L], Draws(50.0, 0, 7, 400).Distinct().Order());
        Assert.Equal(Draws(50.0, 0, 7, 400).Distinct().Order(), Draws(50.0, 5, 7, 400).Distinct().Order());   // k = vocabulary: no limit
    }

    [Fact]
    public void The_same_seed_draws_the_same_tokens_and_another_seed_others()
    {
        Assert.Equal(Draws(50.0, 0, 11, 50), Draws(50.0, 0, 11, 50));
        Assert.NotEqual(Draws(50.0, 0, 11, 50), Draws(50.0, 0, 12, 50));
    }

    [Fact]
    public void Options_out_of_range_are_all_named()
    {
        Assert.Empty(new SampleOptions(1, 0, 0, 1).Problems());
        var problems = new SampleOptions(0, -1, -2, 1).Problems();
        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("--tokens"));
        Assert.Contains(problems, p => p.StartsWith("--temperature"));
        Assert.Contains(problems, p => p.StartsWith("--top-k"));
        Assert.Single(new SampleOptions(1, double.NaN, 0, 1).Problems());
    }
}
