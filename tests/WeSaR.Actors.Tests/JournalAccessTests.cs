using Microsoft.Data.Sqlite;
using WeSaR.Actors.Persistence;

namespace WeSaR.Actors.Tests;

public sealed class JournalAccessTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("wesar-access-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static Exception Fault(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return Assert.ThrowsAny<SqliteException>(() => cmd.ExecuteNonQuery());
    }

    static void Execute(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public void A_write_in_the_way_is_contention_and_damage_is_not()
    {
        var file = Path.Combine(dir, "journal.db");
        using var writer = new SqliteConnection(JournalAccess.Sqlite(file, readOnly: false));
        writer.Open();
        Execute(writer, "CREATE TABLE t (x INTEGER); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);");
        using (var other = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, DefaultTimeout = 1, Pooling = false }.ToString()))
        {
            other.Open();
            var busy = Fault(other, "INSERT INTO t VALUES (2)");
            Assert.True(JournalAccess.IsSqliteContention(new AggregateException(busy)), busy.Message);
        }
        var nested = Fault(writer, "BEGIN");
        Assert.True(JournalAccess.IsSqliteContention(nested), nested.Message);
        Execute(writer, "COMMIT");

        var damaged = Path.Combine(dir, "damaged.db");
        File.WriteAllBytes(damaged, [.. File.ReadAllBytes(file).Take(100), .. new byte[8192]]);
        using var reader = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = damaged, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        reader.Open();
        var malformed = Fault(reader, "SELECT count(*) FROM t");
        Assert.False(JournalAccess.IsSqliteContention(malformed), malformed.Message);
        Assert.False(JournalAccess.IsTransient(malformed));
    }
}
