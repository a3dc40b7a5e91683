using System.Text.RegularExpressions;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>A class fixture: one finished sweep of two short runs (seeds 1 and 2) in a work folder of its own.</summary>
public sealed class FinishedSweep : IDisposable
{
    public readonly TempDir Dir = TestEnv.NewTempDir();
    public string Work => Path.Combine(Dir.Path, "work");
    public readonly string Id, Run;
    /// <summary>What `sweep run` printed.</summary>
    public readonly string Stdout;

    public FinishedSweep()
    {
        var r = Wesar.Run("--workdir", Work, "sweep", "run", TestSweeps.Write(Dir.Path, "short", "run.seed = [1, 2]", 6));
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Stdout = r.Stdout;
        Id = Regex.Match(r.Stdout, @"^sweep (\S+):", RegexOptions.Multiline).Groups[1].Value;
        Run = Regex.Match(r.Stdout, @"\S+/([0-9a-f]{12}) ").Groups[1].Value;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Dir.Dispose();
    }
}
