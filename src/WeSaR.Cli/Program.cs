using System.CommandLine;
using WeSaR.Cli.Commands;

namespace WeSaR.Cli;

public static class Program
{
    public static int Main(string[] args) => Root().Parse(args).Invoke();

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
        BenchCommand.Create(),
    };
}
