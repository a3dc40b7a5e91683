using System.CommandLine;
using WeSaR.Cli.Commands;

namespace WeSaR.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("wesar: GPT pre-training with WeSaR and baseline init schemes, with spike detection and exact resume.")
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
        return root.Parse(args).Invoke();
    }
}
