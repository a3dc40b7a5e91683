using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace WeSaR.Actors.Persistence;

/// <summary>
/// Opening the journal database, and saying in one line why it cannot be opened: a damaged SQLite file, a
/// read-only folder, PostgreSQL refusing the login or not answering. Commands check this before they start an
/// ActorSystem, and map the same faults to the same line when they surface later, inside a query.
/// </summary>
public static class JournalAccess
{
    /// <summary>
    /// The SQLite connection string. Writers set WAL (halves write latency, lets readers read while a sweep writes;
    /// it stays with the file). Readers open the file read-only and create nothing; in a folder they cannot write
    /// they read it as immutable, since WAL readers otherwise need to create the -shm file beside it.
    /// </summary>
    public static string Sqlite(string file, bool readOnly)
    {
        file = Path.GetFullPath(file);
        if (readOnly)
        {
            // Unpooled: a connection a failed read left inside a transaction must not serve the next read.
            var cs = new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, DefaultTimeout = 60, Pooling = false }.ToString();
            return CanOpen(cs) ? cs : new SqliteConnectionStringBuilder
                { DataSource = $"file:{Uri.EscapeDataString(file).Replace("%2F", "/")}?immutable=1", Mode = SqliteOpenMode.ReadOnly, DefaultTimeout = 60, Pooling = false }.ToString();
        }
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var writer = new SqliteConnectionStringBuilder { DataSource = file, DefaultTimeout = 60 }.ToString();
        using var c = new SqliteConnection(writer);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode=WAL;";
        cmd.ExecuteNonQuery();
        return writer;
    }

    static bool CanOpen(string cs)
    {
        try
        {
            using var c = new SqliteConnection(cs);
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT count(*) FROM sqlite_master";
            cmd.ExecuteScalar();
            return true;
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 14 /* CANTOPEN */ or 8 /* READONLY */) { return false; }
        catch (SqliteException) { return true; }   // damage is reported by Problem, with its cause
    }

    /// <summary>
    /// Why the journal cannot be read (null when it can): an integrity check of the SQLite file, or a login to
    /// PostgreSQL. <paramref name="where"/> names the database in the message.
    /// </summary>
    public static string? Problem(JournalProvider provider, string connection, string where)
    {
        try
        {
            using DbConnection c = provider == JournalProvider.Sqlite ? new SqliteConnection(connection) : new NpgsqlConnection(connection);
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = provider == JournalProvider.Sqlite ? "PRAGMA quick_check" : "SELECT 1";
            var verdict = cmd.ExecuteScalar() as string;
            return provider == JournalProvider.Sqlite && verdict != "ok" ? Unreadable(where, $"the file is damaged ({FirstFinding(verdict)})") : null;
        }
        catch (Exception e) when (Describe(e) is { } cause) { return Unreadable(where, cause); }
    }

    /// <summary>One line for a fault of the journal's database anywhere in <paramref name="e"/>'s chain; null if it is none.</summary>
    public static string? Describe(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            switch (x)
            {
                case PostgresException p: return $"{p.SqlState}: {p.MessageText}";
                case NpgsqlException n: return n.Message + (Root(n) is SocketException s ? $" ({s.Message})" : n.InnerException is TimeoutException ? " (timed out)" : "");
                case SqliteException q: return $"SQLite error {q.SqliteErrorCode}: {SqliteText(q)}";
            }
        }
        return null;
    }

    /// <summary>
    /// Whether a journal fault can pass by itself: a server that does not answer or was shut down (PostgreSQL
    /// restarting, the network between). A full disk or a damaged file does not.
    /// </summary>
    public static bool IsTransient(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            switch (x)
            {
                case PostgresException p: return p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("57P", StringComparison.Ordinal);
                case NpgsqlException { IsTransient: true } or SocketException or TimeoutException: return true;
                case SqliteException: return false;
            }
        return false;
    }

    /// <summary>
    /// Whether a SQLite fault is another connection's write in the way (busy, locked, or a read that began while a
    /// transaction on its connection had not ended): it passes when the write ends, unlike damage.
    /// </summary>
    public static bool IsSqliteContention(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is SqliteException q)
                return q.SqliteErrorCode is 5 /* BUSY */ or 6 /* LOCKED */
                       || (q.SqliteErrorCode == 1 && q.Message.Contains("within a transaction", StringComparison.Ordinal));
        return false;
    }

    public static string Unreadable(string where, string cause) => $"cannot read the journal {where}: {cause}; nothing was changed";

    // quick_check's findings start with a header line ("*** in database main ***"); the first finding says enough.
    static string FirstFinding(string? verdict) =>
        verdict?.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(l => !l.StartsWith("***", StringComparison.Ordinal))
        ?? "integrity check failed";

    static Exception Root(Exception e) => e.InnerException is null ? e : Root(e.InnerException);

    // "SQLite Error 11: 'database disk image is malformed'." → "database disk image is malformed"
    static string SqliteText(SqliteException s)
    {
        var m = s.Message;
        var start = m.IndexOf('\'');
        var end = m.LastIndexOf('\'');
        return start >= 0 && end > start ? m[(start + 1)..end] : m;
    }
}
