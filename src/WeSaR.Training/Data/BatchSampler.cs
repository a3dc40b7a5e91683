using static TorchSharp.torch;

namespace WeSaR.Training.Data;

/// <summary>
/// Random (batch, seq) windows as a pure function of (seed, batch index): batch i is the same on any machine and
/// after any restart, so a run can resume at any position or skip a range of batches without replaying them.
/// </summary>
public sealed class BatchSampler(TokenFile tokens, Split split, int batchSize, int seqLen, ulong seed)
{
    readonly long positions = tokens.Count(split) - seqLen;

    public int BatchSize => batchSize;

    public int SeqLen => seqLen;

    /// <summary>Inputs and next-token targets, each (batch, seq) int64, on the device.</summary>
    public (Tensor X, Tensor Y) Batch(long index, Device device)
    {
        if (positions <= 0) throw new InvalidOperationException($"{split} split has {tokens.Count(split)} tokens, fewer than one window of {seqLen + 1}");
        var rows = new long[batchSize * (seqLen + 1)];
        for (var r = 0; r < batchSize; r++)
        {
            var start = (long)(Mix(seed, (ulong)index, (ulong)r) % (ulong)positions);
            tokens.Read(split, start, rows.AsSpan(r * (seqLen + 1), seqLen + 1));
        }
        using var all = tensor(rows, [batchSize, seqLen + 1]);
        return (all[.., ..seqLen].to(device), all[.., 1..].to(device));
    }

    /// <summary>SplitMix64 over the three inputs: a counter-based generator, no state to save.</summary>
    public static ulong Mix(ulong a, ulong b, ulong c)
    {
        ulong z = a * 0x9E3779B97F4A7C15UL ^ (b + 0x632BE59BD9B4E019UL) * 0xBF58476D1CE4E5B9UL ^ (c + 1) * 0x94D049BB133111EBUL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
