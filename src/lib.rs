pub mod rundown;
