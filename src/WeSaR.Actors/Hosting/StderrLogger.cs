using Akka.Event;

namespace WeSaR.Actors.Hosting;

/// <summary>
/// Akka's minimal logger, which runs before the configured loggers start and after they stop (akka.stdout-logger-class).
/// Akka's own writes to stdout, where its lines would corrupt a command's table or JSON.
/// </summary>
public sealed class StderrLogger : MinimalLogger
{
    protected override void Log(object message)
    {
        if (message is LogEvent e) Console.Error.WriteLine(e.ToString());
    }
}
