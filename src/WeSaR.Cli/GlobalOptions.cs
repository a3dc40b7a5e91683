using System.CommandLine;
using System.Runtime.InteropServices;

namespace WeSaR.Cli;

public static class GlobalOptions
{
    public static readonly Option<string> Workdir = new("--workdir")
    {
        Description = "Folder for the journal database, run folders and prepared data",
        DefaultValueFactory = _ => "wesar-work",
        Recursive = true,
    };

    /// <summary>Exit codes: bad input (nothing was changed), a failure while running, a clean stop on Ctrl-C.</summary>
    public const int BadInput = 2, Failed = 1, Interrupted = 130;

    public static int Fail(string message, int code = BadInput)
    {
        Console.Error.WriteLine("error: " + message);
        return code;
    }

    /// <summary>
    /// The first Ctrl-C runs <paramref name="stop"/> (a graceful stop) after saying <paramref name="message"/>; a
    /// second one kills the process as usual. With <paramref name="sigterm"/>, SIGTERM (what `kill`, systemd and
    /// schedulers send) is the first Ctrl-C too. Returns whether the stop was asked for.
    /// </summary>
    public static Func<bool> OnCtrlC(string message, Action stop, bool sigterm = false)
    {
        var pressed = false;
        bool First(string signal)
        {
            if (pressed) return false;
            pressed = true;
            Console.Error.WriteLine($"\n{signal}: {message}; Ctrl-C again to abort");
            stop();
            return true;
        }
        Console.CancelKeyPress += (_, e) => e.Cancel = First("Ctrl-C") || e.Cancel;
        if (sigterm) Registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => c.Cancel = First("SIGTERM")));
        return () => pressed;
    }

    // A registration stops handling its signal when collected.
    static readonly List<PosixSignalRegistration> Registrations = [];
}
