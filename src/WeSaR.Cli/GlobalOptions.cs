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
}
