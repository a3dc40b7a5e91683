using System.Text;
using WeSaR.Training.Data;
using WeSaR.TestSupport;
using static TorchSharp.torch;

namespace WeSaR.Training.Tests;

public class DataTests
{
    [Fact]
    public void Byte_tokens_of_the_corpus_round_trip_with_a_split()
    {
        using var dir = TestEnv.NewTempDir();
        var h = DataPreparer.Prepare([TestEnv.Corpus], "byte", dir.Path, 0.1);
        var text = File.ReadAllBytes(TestEnv.Corpus);
        Assert.Equal(text.Length, h.TrainTokens + h.ValTokens);
        Assert.Equal(Math.Round(text.Length * 0.1), h.ValTokens);
        Assert.Equal(256, h.VocabSize);
        Assert.Equal(64, Assert.Single(h.Sources).Sha256.Length);
        using var f = TokenFile.Open(dir.Path);
        var head = new long[100];
        f.Read(Split.Train, 0, head);
        Assert.Equal(text.Take(100).Select(b => (long)b), head);
        var tail = new long[10];
        f.Read(Split.Val, h.ValTokens - 10, tail);
        Assert.Equal(text.TakeLast(10).Select(b => (long)b), tail);
    }

    [Fact]
    public void Gpt2_bpe_uses_the_real_vocabulary_and_separates_documents()
    {
        using var dir = TestEnv.NewTempDir();
        var a = Path.Combine(dir.Path, "a.txt");
        var b = Path.Combine(dir.Path, "b.txt");
        File.WriteAllText(a, "Hello world");
        File.WriteAllText(b, "Hello world");
        var h = DataPreparer.Prepare([Path.Combine(dir.Path, "*.txt")], "gpt2", Path.Combine(dir.Path, "out"), 0.2);
        Assert.Equal(2, h.Sources.Count);
        using var f = TokenFile.Open(Path.Combine(dir.Path, "out"));
        var all = new long[h.TrainTokens + h.ValTokens];
        f.Read(Split.Train, 0, all.AsSpan(0, (int)h.TrainTokens));
        f.Read(Split.Val, 0, all.AsSpan((int)h.TrainTokens));
        Assert.Equal([15496L, 995, 50256, 15496, 995], all);   // GPT-2 ids of "Hello", " world", <|endoftext|>
    }

    [Fact]
    public void Globs_that_match_nothing_and_missing_files_are_clear_errors()
    {
        using var dir = TestEnv.NewTempDir();
        Assert.Contains("no files match", Assert.Throws<FileNotFoundException>(() => DataPreparer.ExpandInputs([Path.Combine(dir.Path, "*.md")])).Message);
        Assert.Contains("input not found", Assert.Throws<FileNotFoundException>(() => DataPreparer.ExpandInputs([Path.Combine(dir.Path, "x.txt")])).Message);
        var notTokens = Path.Combine(dir.Path, "x.bin");
        File.WriteAllText(notTokens, "just text, not a token file");
        Assert.False(TokenFile.IsTokenFile(notTokens));
        Assert.Throws<InvalidDataException>(() => TokenFile.Open(notTokens));
    }

    [Fact]
    public void Batches_are_a_pure_function_of_seed_and_index_and_targets_are_shifted_inputs()
    {
        using var dir = TestEnv.NewTempDir();
        DataPreparer.Prepare([TestEnv.Corpus], "byte", dir.Path, 0.1);
        using var f = TokenFile.Open(dir.Path);
        var a = new BatchSampler(f, Split.Train, 4, 32, seed: 1);
        var b = new BatchSampler(f, Split.Train, 4, 32, seed: 1);
        var (x5, y5) = a.Batch(5, CPU);
        var (x4, _) = a.Batch(4, CPU);
        var (x5Again, _) = b.Batch(5, CPU);          // another sampler, after a different index
        Assert.True(x5.equal(x5Again).all().item<bool>());
        Assert.False(x5.equal(x4).all().item<bool>());
        Assert.True(x5[.., 1..].equal(y5[.., ..^1]).all().item<bool>());
        Assert.Equal([4L, 32], x5.shape);
        var (other, _) = new BatchSampler(f, Split.Train, 4, 32, seed: 2).Batch(5, CPU);
        Assert.False(x5.equal(other).all().item<bool>());
    }
}
