using WeSaR.Training.Data;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

public sealed class DoctorAndDataTests : IDisposable
{
    readonly TempDir work = TestEnv.NewTempDir();

    [Fact]
    public void Doctor_reports_versions_devices_threads_and_the_loader_fix()
    {
        var r = Wesar.Run("doctor");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("TorchSharp     0.107.0", r.Stdout);
        Assert.Contains("LibTorch       2.10.0", r.Stdout);
        Assert.Matches(@"loader fix     (applied|not needed)", r.Stdout);
        Assert.Contains("devices        cpu", r.Stdout);
        Assert.Matches(@"threads        \d+ intra-op", r.Stdout);
        Assert.Contains("smoke test     ok", r.Stdout);
    }

    [Fact]
    public void Data_prepare_writes_a_token_file_that_train_accepts_as_data_path()
    {
        var outDir = Path.Combine(work.Path, "tokens");
        var r = Wesar.Run("data", "prepare", "--input", TestEnv.Corpus, "--tokenizer", "gpt2", "--out", outDir);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("gpt2 tokens, vocabulary 50257", r.Stdout);
        using (var f = TokenFile.Open(outDir)) Assert.True(f.Header.TrainTokens > 200_000);
        var run = Path.Combine(work.Path, "run");
        var t = Wesar.Run("--workdir", work.Path, "train", "--set", $"data.path={outDir}", "--set", $"run.dir={run}",
            "--set", "train.steps=2", "--set", "model.n-layer=1", "--set", "model.d-model=32", "--set", "model.block-size=16",
            "--set", "train.batch-size=2", "--set", "train.eval-batches=1", "--set", "data.tokenizer=gpt2");
        Assert.True(t.ExitCode == 0, t.Stderr);
        Assert.False(Directory.Exists(Path.Combine(work.Path, "data")));   // used as is, not re-tokenized

        // The same token file under the tiny preset's byte tokenizer would train a 50,257-word model without a word.
        var mismatch = Wesar.Run("--workdir", work.Path, "train", "--config", TestEnv.TinyPreset, "--set", $"data.path={outDir}",
            "--set", $"run.dir={Path.Combine(work.Path, "byte")}");
        Assert.Equal(2, mismatch.ExitCode);
        Assert.Contains("data.path holds gpt2 tokens (vocabulary 50,257) but data.tokenizer is byte", mismatch.Stderr);
        Assert.False(Directory.Exists(Path.Combine(work.Path, "byte")));
    }

    [Fact]
    public void Data_prepare_refuses_missing_inputs()
    {
        var r = Wesar.Run("data", "prepare", "--input", Path.Combine(work.Path, "*.txt"), "--out", work.Path);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no files match", r.Stderr);
    }

    public void Dispose() => work.Dispose();
}
