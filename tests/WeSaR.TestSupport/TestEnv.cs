using System.Diagnostics;

namespace WeSaR.TestSupport;

/// <summary>Where the tests find the repository, the real corpus and the built `wesar` command.</summary>
public static class TestEnv
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>
    /// The real text the tests train on: $WESAR_TEST_CORPUS, else ../shared/data/tinyshakespeare.txt beside the
    /// repository. Tests that need it fail with this message rather than pass without it.
    /// </summary>
    public static string Corpus
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("WESAR_TEST_CORPUS")
                       ?? Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data", "tinyshakespeare.txt"));
            return File.Exists(path) ? path
                : throw new FileNotFoundException($"test corpus not found at {path}; set WESAR_TEST_CORPUS to a text file");
        }
    }

    public static string TinyPreset => Path.Combine(RepoRoot, "hocon", "presets", "tiny.conf");

    /// <summary>A fresh folder under the system temp folder, removed by the caller's Dispose.</summary>
    public static TempDir NewTempDir() => new(Directory.CreateTempSubdirectory("wesar-test-").FullName);

    static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "WeSaR.Actors.sln"))) return d.FullName;
        throw new InvalidOperationException("WeSaR.Actors.sln not found above " + AppContext.BaseDirectory);
    }
}

public sealed class TempDir(string path) : IDisposable
{
    public string Path { get; } = path;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Runs the built `wesar` as a real OS process.</summary>
public static class Wesar
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static string Dll
    {
        get
        {
#if DEBUG
            const string config = "Debug";
#else
            const string config = "Release";
#endif
            var dll = Path.Combine(TestEnv.RepoRoot, "src", "WeSaR.Cli", "bin", config, "net10.0", "wesar.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"build the CLI first: {dll}");
        }
    }

    public static Result Run(params string[] args) => Run(TimeSpan.FromMinutes(10), args);

    public static Result Run(TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestEnv.RepoRoot };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"wesar {string.Join(' ', args)} ran past {timeout}");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
