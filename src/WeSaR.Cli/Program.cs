using System.CommandLine;
using WeSaR.Cli.Commands;

namespace WeSaR.Cli;

public static class Program
{
    // Ctrl-C and SIGTERM are the commands' own (a graceful stop with a checkpoint): System.CommandLine's handler
    // would block the signal until the command ends, so the commands' handlers might never run.
    // No command is bad input (2, like any usage error); the help says what to type.
    public static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            Root().Parse(["--help"]).Invoke();
            return 2;
        }
        var parsed = Root().Parse(args);
        var code = parsed.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });
        return parsed.Errors.Count > 0 ? GlobalOptions.BadInput : code;   // a usage error is bad input, like any other
    }

    /// <summary>The whole command tree (also what the deploy tests check deployment commands against).</summary>
    public static RootCommand Root() => new("wesar: GPT pre-training with WeSaR and baseline init schemes, with spike detection and exact resume.")
    {
        GlobalOptions.Workdir,
        DoctorCommand.Create(),
        DataCommand.Create(),
        TrainCommand.Create(),
        SweepCommand.Create(),
        NodeCommand.Create(),
        RunsCommand.Create(),
        ReportCommand.Create(),
        SqlCommand.Create(),
        ExportCommand.Create(),
        SampleCommand.Create(),
        EstimateCommand.Create(),
        ServeCommand.Create(),
        BenchCommand.Create(),
    };
}
