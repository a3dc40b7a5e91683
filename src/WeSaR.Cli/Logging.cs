using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace WeSaR.Cli;

/// <summary>Serilog for orchestrated commands: warnings and errors on stderr, everything to a daily JSON file under the work folder.</summary>
public static class Logging
{
    public static string Start(string workdir)
    {
        var dir = Path.Combine(Path.GetFullPath(workdir), "logs");
        Log.Logger = new LoggerConfiguration()
            .MinimumLevel.Information()
            .Enrich.WithProperty("Pid", Environment.ProcessId)
            .WriteTo.Console(restrictedToMinimumLevel: LogEventLevel.Warning, standardErrorFromLevel: LogEventLevel.Verbose)
            .WriteTo.File(new CompactJsonFormatter(), Path.Combine(dir, "wesar-.jsonl"), rollingInterval: RollingInterval.Day, retainedFileCountLimit: 30)
            .CreateLogger();
        return dir;
    }

    public static void Stop() => Log.CloseAndFlush();
}
