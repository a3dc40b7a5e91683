using System.Diagnostics;

namespace WeSaR.TestSupport;

/// <summary>
/// A Python interpreter that imports torch: $WESAR_TEST_PYTHON, else Debian's /usr/bin/python3 (`apt-get install
/// python3-torch`), else python3 on PATH; null when none does.
/// </summary>
public static class PyTorch
{
    public static string? Python => python.Value;

    static readonly Lazy<string?> python = new(() =>
        new[] { Environment.GetEnvironmentVariable("WESAR_TEST_PYTHON"), "/usr/bin/python3", "python3" }
            .FirstOrDefault(p => !string.IsNullOrEmpty(p) && Imports(p)));

    static bool Imports(string interpreter)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(interpreter, ["-c", "import torch"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            return p.WaitForExit(60_000) && p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }   // no such interpreter
    }

    /// <summary>Runs a script given as text with arguments; returns stdout, failing with stderr on a non-zero exit.</summary>
    public static string Run(string script, params string[] args) => Exec(["-c", script, .. args]);

    /// <summary>Runs a script file with arguments, as <see cref="Run"/> does.</summary>
    public static string RunFile(string path, params string[] args) => Exec([path, .. args]);

    static string Exec(string[] args)
    {
        var psi = new ProcessStartInfo(Python ?? throw new InvalidOperationException("no Python with torch")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(entireProcessTree: true); throw new TimeoutException("python ran past 5 minutes"); }
        return p.ExitCode == 0 ? stdout.Result : throw new InvalidOperationException($"python exit {p.ExitCode}\n{stderr.Result}");
    }

    /// <summary>Why a PyTorch test is skipped here, or null when it can run.</summary>
    public static string? SkipReason => Python is null ? "no Python that imports torch (apt-get install -y python3-torch, or set WESAR_TEST_PYTHON)" : null;
}

/// <summary>A test that runs PyTorch: reported as skipped, never passed, where no interpreter imports torch (see <see cref="PyTorch"/>).</summary>
public sealed class PyTorchFactAttribute : Xunit.FactAttribute
{
    public PyTorchFactAttribute() => Skip = PyTorch.SkipReason;
}

/// <summary>A theory that runs PyTorch, skipped as <see cref="PyTorchFactAttribute"/> is.</summary>
public sealed class PyTorchTheoryAttribute : Xunit.TheoryAttribute
{
    public PyTorchTheoryAttribute() => Skip = PyTorch.SkipReason;
}
