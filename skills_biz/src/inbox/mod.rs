//! WorkInboxService (being written).
