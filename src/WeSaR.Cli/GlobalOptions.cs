using System.CommandLine;

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
    /// second one kills the process as usual. Returns whether Ctrl-C was pressed.
    /// </summary>
    public static Func<bool> OnCtrlC(string message, Action stop)
    {
        var pressed = false;
        Console.CancelKeyPress += (_, e) =>
        {
            if (pressed) return;
            e.Cancel = true;
            pressed = true;
            Console.Error.WriteLine($"\n{message}; Ctrl-C again to abort");
            stop();
        };
        return () => pressed;
    }
}
