using TorchSharp;
using static TorchSharp.torch;

namespace WeSaR.Model;

/// <summary>
/// How to sample: <c>Tokens</c> new tokens; <c>Temperature</c> 0 is greedy (argmax); <c>TopK</c> 0 keeps the whole
/// vocabulary; <c>Seed</c> makes a sample repeatable.
/// </summary>
public sealed record SampleOptions(int Tokens, double Temperature, int TopK, long Seed)
{
    /// <summary>What is wrong with the options, all at once (empty if nothing).</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (Tokens < 1) problems.Add($"--tokens must be at least 1, got {Tokens}");
        if (!(Temperature >= 0) || double.IsInfinity(Temperature)) problems.Add($"--temperature must be 0 (greedy) or positive, got {Temperature}");
        if (TopK < 0) problems.Add($"--top-k must be 0 (no limit) or positive, got {TopK}");
        return problems;
    }
}

/// <summary>Text generation as nanoGPT's sample.py does it: crop to the context window, temperature, top-k, multinomial.</summary>
public static class Sampler
{
    static readonly Scalar NegativeInfinity = double.NegativeInfinity;   // held for the process (see Scalars)

    /// <summary>Appends <see cref="SampleOptions.Tokens"/> tokens to <paramref name="prompt"/> (at least one token); returns the new ones.</summary>
    public static IReadOnlyList<int> Generate(Gpt model, IReadOnlyList<int> prompt, SampleOptions options)
    {
        if (prompt.Count == 0) throw new ArgumentException("the prompt needs at least one token");
        using var _ = no_grad();
        model.eval();
        using var generator = new Generator((ulong)options.Seed, CPU);
        var ids = prompt.Select(t => (long)t).ToList();
        for (var i = 0; i < options.Tokens; i++)
        {
            using var scope = NewDisposeScope();   // one per token: native memory stays flat however long the sample
            var window = ids.Skip(Math.Max(0, ids.Count - model.Config.BlockSize)).ToArray();
            var logits = model.call(tensor(window).unsqueeze(0))[0, -1];
            ids.Add(Next(logits, options.Temperature, options.TopK, generator));
        }
        return ids.Skip(prompt.Count).Select(t => (int)t).ToList();
    }

    /// <summary>The next token from the last position's logits (vocab): argmax at temperature 0, else a draw from the top-k softmax.</summary>
    public static long Next(Tensor logits, double temperature, int topK, Generator generator)
    {
        if (temperature == 0) return logits.argmax().item<long>();
        using Scalar t = temperature;   // held until the op returns (see Scalars)
        var scaled = logits.div(t);
        if (topK > 0 && topK < scaled.shape[0])
        {
            var kth = scaled.topk(topK).values[-1];
            scaled = scaled.masked_fill(scaled.lt(kth), NegativeInfinity);
        }
        return nn.functional.softmax(scaled, -1).multinomial(1, generator: generator).item<long>();
    }
}
