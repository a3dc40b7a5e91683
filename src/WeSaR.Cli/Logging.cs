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
            // One line per event on the console; the file keeps the exceptions with their stack traces.
            .WriteTo.Console(restrictedToMinimumLevel: LogEventLevel.Warning, standardErrorFromLevel: LogEventLevel.Verbose,
                outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}")
            .WriteTo.File(new CompactJsonFormatter(), Path.Combine(dir, "wesar-.jsonl"), rollingInterval: RollingInterval.Day, retainedFileCountLimit: 30)
            .CreateLogger();
        return dir;
    }

    // A full disk fails the last flush; the command's own outcome is already printed and matters more.
    public static void Stop()
    {
        try { Log.CloseAndFlush(); }
        catch (IOException e) { Console.Error.WriteLine($"warning: the log file could not be written: {e.Message}"); }
    }
}
