//! The seed's SQL (seed-scenario.md section 2.3), statement by statement, plus the
//! statements this project adds beyond the seed (an UPDATE, a DELETE, a rolled-back
//! transaction).

/// `DROP_TABLES`, in the seed's order.
pub const DROP_TABLES: [&str; 3] = [
    "DROP TABLE IF EXISTS novels;",
    "DROP TABLE IF EXISTS accounts;",
    "DROP TABLE IF EXISTS authors;",
];

/// `CREATE_TABLES`: authors, accounts, novels.
pub const CREATE_TABLES: [&str; 3] = [
    "CREATE TABLE authors (
    author_id INT AUTO_INCREMENT PRIMARY KEY,
    first_name VARCHAR(100) NOT NULL,
    last_name VARCHAR(100) NOT NULL,
    date_of_birth DATE,
    nationality VARCHAR(50),
    biography TEXT,
    email VARCHAR(255),
    phone_number VARCHAR(20),
    active BOOLEAN DEFAULT TRUE,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);",
    "CREATE TABLE accounts (
                    id INT AUTO_INCREMENT PRIMARY KEY,
                    name VARCHAR(255) NOT NULL,
                    age TINYINT UNSIGNED,
                    birth_date DATE,
                    account_balance DECIMAL(10, 2),
                    is_active BOOLEAN,
                    signup_time TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                    last_login DATETIME,
                    bio TEXT,
                    profile_picture BLOB,
                    favorite_color ENUM('red', 'green', 'blue'),
                    height FLOAT,
                    weight DOUBLE
                );",
    "CREATE TABLE novels (
    novel_id INT AUTO_INCREMENT PRIMARY KEY,
    title VARCHAR(255) NOT NULL,
    author_id INT,
    publish_date DATE,
    isbn VARCHAR(20),
    genre VARCHAR(100),
    page_count INT,
    publisher VARCHAR(100),
    language VARCHAR(50),
    available_copies INT,
    total_copies INT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (author_id) REFERENCES authors(author_id)
);
",
];

/// `PRESEED_DATA`: 1 author, 1 account, 2 novels, run as one transaction.
pub const PRESEED_DATA: [&str; 3] = [
    "INSERT INTO authors (first_name, last_name, date_of_birth, nationality, biography, email, phone_number)
VALUES
('John', 'Doe', '1980-01-01', 'American', 'Biography of John Doe.', 'john.doe@example.com', '123-456-7890');",
    "INSERT INTO accounts
(name, age, birth_date, account_balance, is_active, signup_time, last_login, bio, profile_picture, favorite_color, height, weight)
VALUES
('Alice', 30, '1991-05-21', 1500.00, TRUE, '2021-01-08 09:00:00', '2021-03-10 08:00:00', 'Bio of Alice', NULL, 'red', 1.70, 60.5);",
    "INSERT INTO novels (title, author_id, publish_date, isbn, genre, page_count, publisher, language, available_copies, total_copies)
VALUES
('The Great Adventure', 1, '2020-06-01', '978-3-16-148410-0', 'Adventure', 300, 'Adventure Press', 'English', 10, 20),
('Journey to the Stars', 1, '2021-04-10', '978-0-11-322456-7', 'Science Fiction', 350, 'SciFi Universe', 'English', 12, 25);",
];

/// `ALTER_TABLES`: a type change, a dropped column, an added column.
pub const ALTER_TABLES: [&str; 3] = [
    "ALTER TABLE authors MODIFY COLUMN email VARCHAR(100)",
    "ALTER TABLE accounts DROP COLUMN profile_picture;",
    "ALTER TABLE novels ADD COLUMN is_stock BOOLEAN DEFAULT TRUE;",
];

/// Beyond the seed: an UPDATE (its record carries a before-image).
pub const UPDATE_AUTHOR: &str =
    "UPDATE authors SET email = 'john.doe@new.example.com' WHERE author_id = 1;";
/// The email before [`UPDATE_AUTHOR`].
pub const OLD_EMAIL: &str = "john.doe@example.com";
/// The email after [`UPDATE_AUTHOR`].
pub const NEW_EMAIL: &str = "john.doe@new.example.com";

/// Beyond the seed: a DELETE (its record carries the deleted row).
pub const DELETE_NOVEL: &str = "DELETE FROM novels WHERE novel_id = 2;";

/// Beyond the seed: a transaction that is rolled back (it must emit nothing).
pub const ROLLED_BACK: [&str; 3] = [
    "START TRANSACTION",
    "INSERT INTO authors (first_name, last_name) VALUES ('Rolled', 'Back')",
    "ROLLBACK",
];

/// The committed change that follows the rollback, proving the stream went on and nothing
/// of the rolled-back transaction came before it.
pub const AFTER_ROLLBACK: &str =
    "UPDATE accounts SET bio = 'Bio of Alice, updated after a rollback' WHERE id = 1;";

/// The primary-key column of each seed table.
pub fn primary_key(table: &str) -> Option<&'static str> {
    match table {
        "authors" => Some("author_id"),
        "accounts" => Some("id"),
        "novels" => Some("novel_id"),
        _ => None,
    }
}
