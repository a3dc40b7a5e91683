using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>Data that cannot train is refused with exit 2 before a run folder, a journal or a sweep folder exists.</summary>
public sealed class BadDataTests : IDisposable
{
    readonly TempDir work = TestEnv.NewTempDir();

    public void Dispose() => work.Dispose();

    string Corpus(string name, byte[] bytes)
    {
        var path = Path.Combine(work.Path, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public static TheoryData<string, string> Cases => new()
    {
        { "empty", "0 training tokens, fewer than one window of model.block-size + 1 = 129" },
        { "ten-bytes", "fewer than one window" },
        { "140-bytes", "validation tokens, fewer than one window of model.block-size + 1 = 129" },
        { "binary", "is not text (it has NUL bytes or invalid UTF-8)" },
        { "latin1", "is not text (it has NUL bytes or invalid UTF-8)" },
    };

    byte[] Bytes(string kind) => kind switch
    {
        "empty" => [],
        "ten-bytes" => "0123456789"u8.ToArray(),
        "140-bytes" => System.Text.Encoding.ASCII.GetBytes(new string('a', 140)),
        "binary" => File.ReadAllBytes(Wesar.Dll),
        _ => [(byte)'c', (byte)'a', (byte)'f', 0xE9, (byte)'\n'],   // "café" in Latin-1
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Train_refuses_it_before_writing_anything(string kind, string message)
    {
        var run = Path.Combine(work.Path, "run");
        var r = Wesar.Run("--workdir", work.Path, "train", "--config", TestEnv.TinyPreset, "--set", $"data.path={Corpus(kind, Bytes(kind))}",
            "--set", $"run.dir={run}");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.DoesNotContain("Unhandled", r.Stderr);
        Assert.False(Directory.Exists(run));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_sweep_refuses_it_before_the_journal_exists(string kind, string message)
    {
        var file = TestSweeps.Write(work.Path, "bad", "run.seed = [1, 2]", 20, $"data.path = {System.Text.Json.JsonSerializer.Serialize(Corpus(kind, Bytes(kind)))}\nmodel.block-size = 128");
        var r = Wesar.Run("--workdir", work.Path, "sweep", "run", file);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.False(File.Exists(Path.Combine(work.Path, "journal.db")));
        Assert.False(Directory.Exists(Path.Combine(work.Path, "sweeps")));
    }

    [Fact]
    public void Resuming_an_unknown_sweep_in_an_empty_folder_writes_nothing()
    {
        var r = Wesar.Run("--workdir", work.Path, "sweep", "resume", "nope-12345678");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no sweep 'nope-12345678'", r.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(work.Path));
    }
}
