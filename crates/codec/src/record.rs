//! The typed model of a DMS Kinesis message.

use crate::value::{Fields, Number};
use std::fmt;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, Debug)]
        pub enum $name {
            $($(#[$vm])* $var,)+
            /// A value this version of the codec does not know; kept verbatim.
            Other(String),
        }

        impl $name {
            /// The wire text.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$var => $text,)+
                    $name::Other(s) => s,
                }
            }

            /// Parses the wire text; unknown text becomes `Other`.
            pub fn parse(s: &str) -> Self {
                match s {
                    $($text => $name::$var,)+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// `metadata.record-type`.
    RecordType {
        /// A row.
        Data => "data",
        /// A table-level event (create, drop, alter).
        Control => "control",
    }
}

string_enum! {
    /// `metadata.operation`.
    Operation {
        /// A row read by full load.
        Load => "load",
        /// CDC insert.
        Insert => "insert",
        /// CDC update (`data` is the after-image).
        Update => "update",
        /// CDC delete (`data` is the deleted row).
        Delete => "delete",
        /// Table created (also sent at the start of a load and of CDC).
        CreateTable => "create-table",
        /// Table renamed.
        RenameTable => "rename-table",
        /// Table dropped (also sent before a DROP_AND_CREATE load).
        DropTable => "drop-table",
        /// Several column changes at once.
        ChangeColumns => "change-columns",
        /// Column added.
        AddColumn => "add-column",
        /// Column dropped.
        DropColumn => "drop-column",
        /// Column renamed.
        RenameColumn => "rename-column",
        /// Column type changed.
        ColumnTypeChange => "column-type-change",
    }
}

impl Operation {
    /// True for the four data operations.
    pub fn is_data(&self) -> bool {
        matches!(
            self,
            Operation::Load | Operation::Insert | Operation::Update | Operation::Delete
        )
    }
}

string_enum! {
    /// `metadata.partition-key-type`.
    PartitionKeyType {
        /// `schema.table`.
        SchemaTable => "schema-table",
        /// The primary key value (optionally prefixed `schema.table.`).
        PrimaryKey => "primary-key",
        /// The transaction id.
        TransactionId => "transaction-id",
        /// A constant from the object mapping.
        Constant => "constant",
        /// A column's value named by the object mapping.
        AttributeName => "attribute-name",
        /// Control records: the task's resource id.
        TaskId => "task-id",
    }
}

/// The `metadata` object. Fields are in the order DMS writes them.
#[derive(Clone, PartialEq, Debug)]
pub struct Metadata {
    /// When DMS built the message: ISO 8601 with 6 fractional digits and `Z`.
    pub timestamp: String,
    /// `data` or `control`.
    pub record_type: RecordType,
    /// What happened.
    pub operation: Operation,
    /// How the Kinesis partition key was chosen (absent in some old records).
    pub partition_key_type: Option<PartitionKeyType>,
    /// The partition key value (`IncludePartitionValue`, not for schema-table).
    pub partition_key_value: Option<String>,
    /// Source schema after transformations; may be empty for control records.
    pub schema_name: String,
    /// Source table after transformations.
    pub table_name: String,
    /// Source transaction id (CDC).
    pub transaction_id: Option<Number>,
    /// 1-based position of the record in its transaction.
    pub transaction_record_id: Option<Number>,
    /// The previous transaction's id.
    pub prev_transaction_id: Option<Number>,
    /// `transaction-record-id` of the last record of the previous transaction.
    pub prev_transaction_record_id: Option<Number>,
    /// Commit time of the source transaction.
    pub commit_timestamp: Option<String>,
    /// Source log position.
    pub stream_position: Option<String>,
    /// Metadata keys this codec does not know, in document order.
    pub extra: Fields,
}

impl Metadata {
    /// Metadata with the required fields and nothing else.
    pub fn new(
        timestamp: impl Into<String>,
        record_type: RecordType,
        operation: Operation,
        schema_name: impl Into<String>,
        table_name: impl Into<String>,
    ) -> Self {
        Metadata {
            timestamp: timestamp.into(),
            record_type,
            operation,
            partition_key_type: None,
            partition_key_value: None,
            schema_name: schema_name.into(),
            table_name: table_name.into(),
            transaction_id: None,
            transaction_record_id: None,
            prev_transaction_id: None,
            prev_transaction_record_id: None,
            commit_timestamp: None,
            stream_position: None,
            extra: Fields::new(),
        }
    }
}

/// One column of a `table-def`.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct ColumnDef {
    /// DMS type name (`INT32`, `STRING`, `WSTRING`, `NUMERIC`, ...).
    pub data_type: String,
    /// Length for strings and bytes.
    pub length: Option<u64>,
    /// Precision for numerics.
    pub precision: Option<u64>,
    /// Scale for numerics.
    pub scale: Option<i64>,
    /// Whether NULL is allowed.
    pub nullable: Option<bool>,
    /// Unknown keys, kept.
    pub extra: Fields,
}

/// `control.table-def`.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct TableDef {
    /// Columns in table order.
    pub columns: Vec<(String, ColumnDef)>,
    /// Primary key column names.
    pub primary_key: Option<Vec<String>>,
    /// Table collation.
    pub collation_name: Option<String>,
    /// Unknown keys, kept.
    pub extra: Fields,
}

/// The `control` object (present when `IncludeControlDetails=true`).
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Control {
    /// Table definition; absent in `drop-table` (`"control": {}`).
    pub table_def: Option<TableDef>,
    /// Unknown keys, kept.
    pub extra: Fields,
}

/// A whole DMS message: a data record or a control record.
#[derive(Clone, PartialEq, Debug)]
pub struct Record {
    /// The row (after-image for updates, the deleted row for deletes). Data records only.
    pub data: Option<Fields>,
    /// The before-image, under [`Record::before_image_field`]. CDC updates and deletes.
    pub before_image: Option<Fields>,
    /// Name of the before-image key (`BeforeImageSettings.FieldName`).
    pub before_image_field: String,
    /// Control details. Control records with `IncludeControlDetails` only.
    pub control: Option<Control>,
    /// The metadata.
    pub metadata: Metadata,
    /// Top-level keys this codec does not know, in document order.
    pub extra: Fields,
}

/// Default name of the before-image key.
pub const DEFAULT_BEFORE_IMAGE_FIELD: &str = "before-image";

impl Record {
    /// A data record.
    pub fn data(data: Fields, metadata: Metadata) -> Self {
        Record {
            data: Some(data),
            before_image: None,
            before_image_field: DEFAULT_BEFORE_IMAGE_FIELD.to_owned(),
            control: None,
            metadata,
            extra: Fields::new(),
        }
    }

    /// A control record; `control` is `None` when `IncludeControlDetails=false`.
    pub fn control(control: Option<Control>, metadata: Metadata) -> Self {
        Record {
            data: None,
            before_image: None,
            before_image_field: DEFAULT_BEFORE_IMAGE_FIELD.to_owned(),
            control,
            metadata,
            extra: Fields::new(),
        }
    }

    /// True for `record-type: data`.
    pub fn is_data(&self) -> bool {
        self.metadata.record_type == RecordType::Data
    }

    /// True for `record-type: control`.
    pub fn is_control(&self) -> bool {
        self.metadata.record_type == RecordType::Control
    }

    /// The whole record as a JSON value tree, with keys in DMS order.
    pub fn to_value(&self) -> crate::Value {
        let bytes = crate::encode(self, crate::MessageFormat::JsonUnformatted);
        std::str::from_utf8(&bytes)
            .ok()
            .and_then(|t| crate::json::parse(t).ok())
            .unwrap_or_default()
    }
}
